import LuaHost
import Marketplace
import RuleEngine
import Testing

/// The job API, call by call, on the sample store.
@Suite struct JobAPITests {
    let lab: Lab
    init() throws { lab = try Lab.sample() }

    @Test func getReturnsAJobOrNil() throws {
        #expect(try lab.eval("jobs.get('J-1001').id") == "J-1001")
        #expect(try lab.eval("jobs.get('J-9999')") == .nil)
        #expect(lab.error("jobs.get({})").contains("bad argument #1 to 'get' (string expected, got table)"))
    }

    @Test func fieldsReadAsSpecified() throws {
        try lab.run("j = jobs.get('J-1013')")
        #expect(try lab.eval("j.status") == "responded")
        #expect(try lab.eval("j.source") == "match")
        #expect(try lab.eval("j.service") == "seo")
        #expect(try lab.eval("j.title") == "Monthly SEO retainer")
        #expect(try lab.eval("j.budget.max") == 900)
        #expect(try lab.eval("j.budget.currency") == "USD")
        #expect(try lab.eval("j.priorities.quality") == "high")
        #expect(try lab.eval("j.created_at") == .integer(Lab.now - 200 * 3600))
        #expect(try lab.eval("math.type(j.first_response_at)") == "integer")
        #expect(try lab.eval("j.expires_at") == .nil)
        #expect(try lab.eval("j.hours_left") == .nil)
        #expect(try lab.eval("j.merchant.name") == "Maple Goods")
        #expect(try lab.eval("j.assignees[1].email") == "ben@northwind.example")
        #expect(try lab.eval("#j.assignees") == 2)
        #expect(try lab.eval("j.tags[1]") == "repeat")
        #expect(try lab.eval("#j.messages") == 2)
        #expect(try lab.eval("j.last_message.from") == "member:m2")
        #expect(try lab.eval("j.last_message.author.id") == "m2")
        #expect(try lab.eval("j.last_message.job == j") == true)
        #expect(try lab.eval("j.declined") == .nil)
        #expect(try lab.eval("j.completed_at") == .nil)
        let fresh = try lab.eval("jobs.get('J-1001').hours_left")
        #expect(fresh == .number(70))
        #expect(try lab.eval("jobs.get('J-1001').expires_at") == .integer(Lab.now - 2 * 3600 + 72 * 3600))
        #expect(try lab.eval("jobs.get('J-1019').declined.by") == "agency")
        #expect(try lab.eval("jobs.get('J-1012').notes[1].author.name") == "Ana Ruiz")
        #expect(try lab.eval("math.type(jobs.get('J-1023').completed_at)") == "integer")
    }

    @Test func fieldsAreReadOnly() throws {
        #expect(lab.error("jobs.get('J-1001').status = 'opened'") == "test.lua:1: field 'status' of Job is read-only")
        #expect(lab.error("jobs.get('J-1001').colour = 1") == "test.lua:1: Job has no field 'colour'")
        #expect(lab.error("return jobs.get('J-1001').colour") == "test.lua:1: Job has no field or method 'colour'")
        // Tables a field returns are copies: changing one changes nothing.
        try lab.run("local j = jobs.get('J-1013'); j.tags[1] = 'x'")
        #expect(try lab.eval("jobs.get('J-1013').tags[1]") == "repeat")
        #expect(try lab.eval("getmetatable(jobs.get('J-1001'))") == "Job")
    }

    @Test func filtersSelectInStoreOrder() throws {
        #expect(try lab.eval("jobs.count()") == 30)
        #expect(try lab.eval("jobs.count{status = 'new'}") == 9)
        #expect(try lab.eval("jobs.count{status = {'new', 'opened'}}") == 14)
        #expect(try lab.eval("jobs.count{status = {'new', 'opened'}, service = 'seo'}") == 3)
        #expect(try lab.eval("jobs.count{status = {}}") == 0)
        try lab.run("""
            ids = {}
            for job in jobs.each{assignee = 'm2'} do ids[#ids + 1] = job.id end
            ids = table.concat(ids, ' ')
            """)
        #expect(try lab.eval("ids") == "J-1008 J-1013 J-1021 J-1030")
        #expect(try lab.eval("#jobs.where{assignee = members.get('m2')}") == 4)
        #expect(try lab.eval("#jobs.where{assignee = {'m2', 'm4'}}") == 7)
        #expect(try lab.eval("jobs.where{unassigned = true, status = 'new'}[1].id") == "J-1001")
        #expect(try lab.eval("#jobs.where{unassigned = false}") == 15)
        #expect(try lab.eval("#jobs.where{merchant = 'mer3'}") == 2)
        #expect(try lab.eval("#jobs.where{merchant = merchants.get('mer3')}") == 2)
        #expect(try lab.eval("#jobs.where{source = 'direct', tag = 'rush'}") == 1)
        #expect(try lab.eval("jobs.where{id = {'J-1005', 'J-1002'}}[1].id") == "J-1002")
        #expect(throws: (any Error).self) { try lab.eval("#jobs.where{merchant = 'nobody'}") }
    }

    @Test func badFiltersNameTheProblem() throws {
        #expect(lab.error("jobs.where{statu = 'new'}")
            == "test.lua:1: unknown filter field 'statu' for jobs (known: assignee, id, merchant, service, source, status, tag, unassigned)")
        #expect(lab.error("jobs.count{status = 'opne'}")
            == "test.lua:1: filter field 'status': unknown job status \"opne\" (known: new, opened, responded, awaiting_response, declined, expired, inactive, completed)")
        #expect(lab.error("jobs.count{unassigned = 'yes'}") == "test.lua:1: filter field 'unassigned': expected true or false, got string")
        #expect(lab.error("jobs.count('new')") == "test.lua:1: a jobs filter must be a table like {status = \"new\"}, not a string")
        #expect(lab.error("jobs.count{'new'}").contains("a jobs filter has only named fields"))
        #expect(lab.error("jobs.count{service = {1}}") == "test.lua:1: filter field 'service': expected a string or a list of strings, got number")
    }

    @Test func searchFindsMerchantTitleDetailsAndNotes() throws {
        #expect(try lab.eval("#jobs.search('COFFEE')") == 5)
        #expect(try lab.eval("jobs.search('paused')[1].id") == "J-1021")
    }

    @Test func transitionsGoThroughTheDomain() throws {
        try lab.run("jobs.get('J-1001'):open()")
        #expect(try lab.eval("jobs.get('J-1001').status") == "opened")
        #expect(try lab.eval("jobs.get('J-1001').opened_at") == .integer(Lab.now))
        try lab.run("m = jobs.get('J-1001'):reply('Hello!', 'm2')")
        #expect(try lab.eval("m.from") == "member:m2")
        #expect(try lab.eval("m.body") == "Hello!")
        #expect(try lab.eval("jobs.get('J-1001').status") == "responded")
        #expect(try lab.eval("jobs.get('J-1001').first_response_at") == .integer(Lab.now))
        try lab.run("jobs.get('J-1001'):mark_inactive()")
        #expect(try lab.eval("jobs.get('J-1001').status") == "inactive")
        try lab.run("jobs.get('J-1001'):reactivate()")
        #expect(try lab.eval("jobs.get('J-1001').status") == "responded")
        try lab.run("jobs.get('J-1001'):complete()")
        #expect(try lab.eval("jobs.get('J-1001').status") == "completed")
        try lab.run("jobs.get('J-1002'):decline('Not our kind of work')")
        #expect(try lab.eval("jobs.get('J-1002').declined.reason") == "Not our kind of work")
        #expect(lab.store.stats.declinesByService["seo"] == 2)
        #expect(lab.store.changes.allSatisfy { $0.actor == "jobrules" })
    }

    @Test func refusalsNameTheJobAndWhy() throws {
        #expect(lab.error("jobs.get('J-1017'):open()") == "test.lua:1: job J-1017 is expired: expired jobs can't be acted upon")
        #expect(lab.error("jobs.get('J-1017'):tag('x')") == "test.lua:1: job J-1017 is expired: expired jobs can't be acted upon")
        #expect(lab.error("jobs.get('J-1017'):assign('m1')") == "test.lua:1: job J-1017 is expired: expired jobs can't be acted upon")
        #expect(lab.error("jobs.get('J-1017'):reply('hi')") == "test.lua:1: job J-1017 is expired: expired jobs can't be acted upon")
        #expect(lab.error("jobs.get('J-1019'):decline('again')").hasPrefix("test.lua:1: job J-1019 can't be declined: it is declined"))
        #expect(lab.error("jobs.get('J-1013'):open()").hasPrefix("test.lua:1: job J-1013 can't be opened: it is responded"))
        #expect(lab.error("jobs.get('J-1001'):complete()").hasPrefix("test.lua:1: job J-1001 can't be completed: it is new"))
        #expect(lab.error("jobs.get('J-1001'):reactivate()").hasPrefix("test.lua:1: job J-1001 can't be reactivated: it is new"))
        #expect(lab.error("jobs.get('J-1001'):mark_inactive()").hasPrefix("test.lua:1: job J-1001 can't be marked inactive: it is new"))
        #expect(lab.error("jobs.get('J-1001'):decline('')") == "test.lua:1: bad argument #1 to 'decline' (a decline needs a reason)")
        #expect(lab.error("jobs.get('J-1001'):decline()") == "test.lua:1: bad argument #1 to 'decline' (string expected, got no value)")
        #expect(lab.store.changes.isEmpty)
    }

    @Test func assigningTakesAMemberOrAnID() throws {
        try lab.run("jobs.get('J-1001'):assign('m2'); jobs.get('J-1001'):assign(members.get('m4'))")
        #expect(try lab.eval("jobs.get('J-1001').assignees[2].id") == "m4")
        #expect(lab.store.outbox.suffix(2).map(\.to) == ["ben@northwind.example", "dana@northwind.example"])
        #expect(try lab.eval("members.get('m2').open_jobs") == 5)
        try lab.run("jobs.get('J-1001'):unassign('m2')")
        #expect(try lab.eval("members.get('m2').open_jobs") == 4)
        #expect(lab.error("jobs.get('J-1001'):assign('m9')") == "test.lua:1: bad argument #1 to 'assign' (no member 'm9')")
        #expect(lab.error("jobs.get('J-1001'):assign(42)") == "test.lua:1: bad argument #1 to 'assign' (member or member id expected, got number)")
        #expect(lab.error("jobs.get('J-1001'):assign('m6')") == "test.lua:1: member m6 (Farah Novak) is inactive: jobs can't be assigned to them")
    }

    @Test func notesAndTags() throws {
        try lab.run("local j = jobs.get('J-1008'); j:note('Call on Monday', 'm2'); j:tag('call'); j:tag('call')")
        #expect(try lab.eval("jobs.get('J-1008').notes[1].text") == "Call on Monday")
        #expect(try lab.eval("jobs.get('J-1008').notes[1].author.id") == "m2")
        #expect(try lab.eval("jobs.get('J-1008'):has_tag('call')") == true)
        #expect(try lab.eval("#jobs.get('J-1008').tags") == 1)
        try lab.run("jobs.get('J-1008'):untag('call')")
        #expect(try lab.eval("jobs.get('J-1008'):has_tag('call')") == false)
        #expect(lab.error("jobs.get('J-1008'):tag('two words')").contains("a tag is 1 to 64 characters without spaces"))
        #expect(lab.error("jobs.get('J-1008').tag('x')") == "test.lua:1: bad argument #1 to 'tag' (Job expected, got string)")
    }

    @Test func objectsPrintAsSummaries() throws {
        #expect(try lab.eval("tostring(jobs.get('J-1013'))") == "Job J-1013 [responded] seo · Maple Goods · 2 messages · → m2, m4")
        #expect(try lab.eval("tostring(jobs.get('J-1001'))") == "Job J-1001 [new] theme-customization · Maple Goods · 0 messages · 70h left")
        #expect(try lab.eval("jobs.get('J-1001') == jobs.get('J-1001')") == true)
        #expect(try lab.eval("jobs.get('J-1001') == jobs.get('J-1002')") == false)
    }

    @Test func objectsOfAReplacedStoreRefuse() throws {
        try lab.run("old = jobs.get('J-1001') for i = 1, 10 do local _ = old.id end")
        try lab.session.replace(store: Store.sample(now: Lab.now), now: Lab.now)
        #expect(lab.error("return old.id").contains("this job object belongs to a store that was reloaded or rolled back: get it again"))
        #expect(try lab.eval("jobs.get('J-1001').id") == "J-1001")
    }

    @Test func memberObjectsAreSharedWithinAStoreAndRefuseAfterIt() throws {
        // One object per member: members.get and for_service hand out the same one.
        #expect(try lab.eval("rawequal(members.get('m1'), members.get('m1'))") == true)
        #expect(try lab.eval("rawequal(members.for_service('seo')[1], members.get('m2'))") == true)
        #expect(try lab.eval("members.get('m1').open_jobs") == 2)
        try lab.run("jobs.get('J-1001'):assign('m1')")
        #expect(try lab.eval("members.get('m1').open_jobs") == 3, "a shared object still reads the store as it is now")
        // Read in many calls (its name then stays in the VM), then in one.
        try lab.run("old = members.get('m1') for i = 1, 10 do local _ = old.name, members.get('m2') end")
        #expect(try lab.eval("old.name") == "Ana Ruiz")
        try lab.run("for i = 1, 10 do local _ = old.name end")
        try lab.session.replace(store: Store.sample(now: Lab.now), now: Lab.now)
        #expect(lab.error("return old.name").contains("this member object belongs to a store that was reloaded or rolled back: get it again"))
        #expect(try lab.eval("rawequal(members.get('m1'), old)") == false)
        #expect(try lab.eval("members.get('m1').open_jobs") == 2)
    }

    @Test func objectsReadOftenFollowTransitions() throws {
        // Past a few reads an object keeps its field values until the next call
        // into the host: each transition must still show at once.
        #expect(try lab.run("""
            local j, m = jobs.get('J-1001'), members.get('m2')
            local seen = {}
            local function look() for i = 1, 6 do local _ = j.status, m.open_jobs end seen[#seen + 1] = j.status .. '/' .. m.open_jobs end
            look() j:open() look() j:assign(m) look() j:reply('Hello!', 'm2') look()
            for i = 1, 6 do local _ = #j.tags end
            j:tag('hot') look()
            return table.concat(seen, ' '), #j.tags, j.tags[1]
            """) == ["new/4 opened/4 opened/5 responded/5 responded/5", 1, "hot"])
    }
}
