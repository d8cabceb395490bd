import LuaHost
import Marketplace
import RuleEngine
import Testing

/// Members, merchants, contacts, the agency, orders, the outbox and the helpers.
@Suite struct StoreAPITests {
    let lab: Lab
    init() throws { lab = try Lab.sample() }

    @Test func members() throws {
        #expect(try lab.eval("#members.all()") == 6)
        #expect(try lab.eval("members.get('m1').role") == "lead")
        #expect(try lab.eval("members.get('m1').services[2]") == "store-setup")
        #expect(try lab.eval("members.get('m6').active") == false)
        #expect(try lab.eval("members.get('nobody')") == .nil)
        // Active members offering the service, in store order: m6 offers seo but is inactive.
        try lab.run("ids = {} for _, m in ipairs(members.for_service('seo')) do ids[#ids + 1] = m.id end ids = table.concat(ids, ' ')")
        #expect(try lab.eval("ids") == "m2 m4")
        #expect(try lab.eval("#members.for_service('photography')") == 0)
        #expect(lab.error("members.get('m1').name = 'x'") == "test.lua:1: field 'name' of Member is read-only")
        #expect(try lab.eval("tostring(members.get('m6'))") == "Member m6 Farah Novak (member, inactive) · 0 open jobs")
    }

    @Test func merchantsAndContacts() throws {
        #expect(try lab.eval("merchants.get('mer3').dropshipper") == true)
        #expect(try lab.eval("merchants.get('mer1').store") == "maple-goods.myshopify.com")
        #expect(try lab.eval("merchants.get('mer1').country") == "CA")
        #expect(try lab.eval("merchants.get('mer1').industry") == "home")
        #expect(try lab.eval("merchants.get('mer1').email") == "owner@maple.example")
        #expect(try lab.eval("#merchants.all()") == 7)
        #expect(try lab.eval("contacts.all()[1].email") == "lior@candlecraft.example")
        #expect(try lab.eval("contacts.all()[2].name") == "Uma Kowalski")
        #expect(lab.error("contacts.all()[1].email = 'x'") == "test.lua:1: field 'email' of Contact is read-only")
        #expect(lab.error("contacts.add{}") == "test.lua:1: attempt to call a nil value (field 'add')")
        #expect(lab.error("jobs.get = nil") == "test.lua:1: attempt to modify read-only table 'jobs'")
    }

    @Test func agency() throws {
        #expect(try lab.eval("agency.name") == "Northwind Studio")
        #expect(try lab.eval("#agency.services") == 4)
        #expect(try lab.eval("agency.services[2].min_budget") == 1000)
        #expect(try lab.eval("agency.offers('seo')") == true)
        #expect(try lab.eval("agency.offers('photography')") == false)
        #expect(try lab.eval("agency.preferences.works_with_dropshippers") == false)
        try lab.run("agency.set_preference('available', false)")
        #expect(try lab.eval("agency.preferences.available") == false)
        #expect(lab.store.agency.preferences.available == false)
        try lab.run("agency.set_preference('notification_email', 'ops@northwind.example')")
        #expect(try lab.eval("agency.preferences.notification_email") == "ops@northwind.example")
        #expect(lab.error("agency.set_preference('colour', true)")
            == "test.lua:1: unknown preference 'colour' (known: available, listed_in_search, works_with_dropshippers, notification_email)")
        #expect(lab.error("agency.set_preference('available', 'yes')") == "test.lua:1: preference 'available' is true or false")
        #expect(lab.error("agency.set_preference('notification_email', 'nobody')")
            == "test.lua:1: notification_email must be an email address, not \"nobody\"")
        #expect(lab.error("agency.set_preference('available', 1)") == "test.lua:1: bad argument #2 to 'set_preference' (boolean or string expected, got number)")
        #expect(lab.error("agency.name = 'x'") == "test.lua:1: field 'name' of Agency is read-only")
        #expect(lab.store.changes.map(\.field) == ["preferences.available", "preferences.notification_email"])
    }

    @Test func agencyTablesAreFreshCopiesThatFollowTheStore() throws {
        // Each read is a new table: changing one changes neither the store nor the next read.
        try lab.run("""
            local s = agency.services
            s[1].min_budget = 1; table.remove(s, 2); table.sort(s, function(a, b) return a.id > b.id end)
            agency.preferences.available = 'scribbled'
            """)
        #expect(try lab.eval("agency.services ~= agency.services") == true)
        #expect(try lab.eval("agency.services[1].min_budget") == 500)
        #expect(try lab.eval("#agency.services") == 4)
        #expect(try lab.eval("agency.services[2].id") == "store-setup")
        #expect(try lab.eval("agency.preferences.available") == true)
        // A change through the API shows at once.
        let before = lab.store.savepoint()
        try lab.run("agency.set_preference('works_with_dropshippers', true)")
        #expect(try lab.eval("agency.preferences.works_with_dropshippers") == true)
        // And one rolled back disappears again.
        lab.store.rollback(to: before)
        #expect(try lab.eval("agency.preferences.works_with_dropshippers") == false)
    }

    @Test func orders() throws {
        #expect(try lab.eval("orders.count()") == 7)
        #expect(try lab.eval("orders.get('O-3').late") == true)
        #expect(try lab.eval("orders.get('O-2').late") == false)
        #expect(try lab.eval("orders.get('O-2').hours_to_due") == .number(20))
        #expect(try lab.eval("orders.where{late = true}[1].id") == "O-3")
        #expect(try lab.eval("orders.count{view = 'pending'}") == 4)
        #expect(try lab.eval("orders.count{status = {'delivered', 'completed'}}") == 2)
        #expect(try lab.eval("orders.get('O-7').pending_extension.days") == 5)
        #expect(try lab.eval("orders.get('O-7').extension_requests[1].status") == "pending")
        #expect(try lab.eval("orders.get('O-2').updates[1].text") == "Templates done; starting on the product pages.")
        #expect(try lab.eval("orders.get('O-6').canceled.by") == "mutual")
        #expect(try lab.eval("orders.get('O-4').views[1]") == "delivered")
        #expect(try lab.eval("orders.get('O-1').placed_at") == .integer(Lab.now - 86400))
        #expect(lab.error("orders.count{status = 'lost'}").contains("unknown order status \"lost\""))
        #expect(lab.error("orders.count{view = 'late'}").contains("unknown view \"late\""))
        #expect(lab.error("orders.get('O-1').status = 'delivered'") == "test.lua:1: field 'status' of Order is read-only")
    }

    @Test func orderActionsAndRefusals() throws {
        try lab.run("orders.get('O-1'):start()")
        #expect(try lab.eval("orders.get('O-1').status") == "in_progress")
        try lab.run("orders.get('O-1'):post_update('Requirements received, starting today.')")
        #expect(try lab.eval("#orders.get('O-1').updates") == 1)
        try lab.run("orders.get('O-1'):deliver()")
        #expect(try lab.eval("orders.get('O-1').delivered_at") == .integer(Lab.now))
        #expect(lab.error("orders.get('O-1'):deliver()")
            == "test.lua:1: order O-1 can't be delivered: it is delivered (deliver is allowed from in_progress)")
        #expect(lab.error("orders.get('O-1'):start()").hasPrefix("test.lua:1: order O-1 can't be started: it is delivered"))
        try lab.run("orders.get('O-3'):request_extension(3, 'Waiting for content')")
        #expect(try lab.eval("orders.get('O-3').pending_extension.reason") == "Waiting for content")
        #expect(lab.error("orders.get('O-3'):request_extension(3, 'again')").contains("order O-3 already has an extension request pending"))
        #expect(lab.error("orders.get('O-2'):request_extension(0, 'x')") == "test.lua:1: order O-2: an extension must be 1 to 365 days, not 0")
        #expect(lab.error("orders.get('O-2'):request_extension(2.5, 'x')")
            == "test.lua:1: bad argument #1 to 'request_extension' (number has no integer representation)")
        #expect(lab.error("orders.get('O-2'):request_extension(2)") == "test.lua:1: bad argument #2 to 'request_extension' (string expected, got no value)")
        #expect(lab.error("orders.get('O-5'):request_extension(2, 'x')").hasPrefix("test.lua:1: order O-5 can't"))
    }

    @Test func notifyAndOutbox() throws {
        let before = lab.store.outbox.count
        try lab.run("e = notify{to = 'm2', subject = 'Hello', body = 'Body', job = jobs.get('J-1001')}")
        #expect(try lab.eval("e.to") == "ben@northwind.example")
        #expect(try lab.eval("e.job.id") == "J-1001")
        #expect(try lab.eval("e.at") == .integer(Lab.now))
        try lab.run("notify{to = members.get('m4'), subject = 'Hi'}")
        try lab.run("notify{to = 'boss@example.com', subject = 'Report', body = 'x', job = 'J-1002'}")
        #expect(lab.store.outbox.count == before + 3)
        #expect(try lab.eval("outbox.all()[#outbox.all()].to") == "boss@example.com")
        #expect(try lab.eval("outbox.all()[#outbox.all()].subject") == "Report")
        #expect(lab.error("notify{to = 'nobody', subject = 'x'}") == "test.lua:1: notify: 'to' is neither an email address nor a member id: \"nobody\"")
        #expect(lab.error("notify{to = 'm1'}") == "test.lua:1: notify: 'subject' must be a non-empty string")
        #expect(lab.error("notify{to = 'm1', subject = 'x', jbo = 1}") == "test.lua:1: notify: unknown field 'jbo' (known: body, job, subject, to)")
        #expect(lab.error("notify{to = 'a@b.c, d@e.f', subject = 'x'}").contains("is not one email address"))
        #expect(lab.error("notify{to = 'm1', subject = 'x', job = 'J-0'}") == "test.lua:1: notify: 'job': no job 'J-0'")
        #expect(lab.error("notify{to = 'm1', subject = 'x', job = 7}") == "test.lua:1: notify: 'job' must be a job or a job id, not number")
    }

    @Test func timeHelpers() throws {
        #expect(try lab.eval("now") == .integer(Lab.now))
        #expect(try lab.eval("hours(2)") == 7200)
        #expect(try lab.eval("days(1.5)") == 129_600)
        #expect(try lab.eval("math.type(hours(0.5))") == "integer")
        #expect(try lab.eval("time.iso(now)") == "2026-11-27T09:00:00Z")
        #expect(try lab.eval("time.parse('2026-11-27T09:00:00Z')") == .integer(Lab.now))
        #expect(try lab.run("return time.parse('tomorrow')") == [.nil, "not an RFC 3339 time: \"tomorrow\" (expected like 2026-11-21T09:30:00Z)"])
        #expect(lab.error("time.iso(math.maxinteger)") == "test.lua:1: bad argument #1 to 'iso' (time out of range (years 1 to 9999))")
        #expect(lab.error("time.iso(1.5)") == "test.lua:1: bad argument #1 to 'iso' (number has no integer representation)")
        #expect(lab.error("now = 5") == "test.lua:1: cannot assign to 'now': it is a read-only global")
    }
}
