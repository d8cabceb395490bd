import LuaHost
import Marketplace
import RuleEngine
import Testing

/// Declaring rules and running them: order, savepoints, errors, one pass.
@Suite struct RuleRunnerTests {
    func fixture() -> Fixture {
        var f = Fixture()
        f.jobs = [.init(id: "J-1"), .init(id: "J-2"), .init(id: "J-3"), .init(id: "J-4", status: .expired)]
        return f
    }

    @Test func rulesRunInDeclarationOrderOverItemsInStoreOrder() throws {
        let lab = try Lab(fixture().store())
        try lab.run("""
            seen = {}
            rule{name = "b-first", on = "jobs", run = function(job) seen[#seen + 1] = "b:" .. job.id end}
            rule{name = "a-second", on = "jobs", where = {status = "new"}, run = function(job) seen[#seen + 1] = "a:" .. job.id end}
            """)
        let outcome = lab.session.run(lab.session.rules)
        #expect(try lab.eval("table.concat(seen, ' ')") == "b:J-1 b:J-2 b:J-3 b:J-4 a:J-1 a:J-2 a:J-3")
        #expect(outcome.rules.map(\.name) == ["b-first", "a-second"])
        #expect(outcome.rules.map(\.matched) == [4, 3])
        #expect(outcome.rules.map(\.changed) == [0, 0])
        #expect(outcome.rules[0].position == LuaPosition(chunk: "test.lua", line: 2))
    }

    @Test func changesAreVisibleToLaterRulesInOnePass() throws {
        let lab = try Lab(fixture().store())
        try lab.run("""
            rule{name = "open", on = "jobs", where = {status = "new"}, run = function(job) job:open() end}
            rule{name = "tag-opened", on = "jobs", where = {status = "opened"}, run = function(job) job:tag("seen") end}
            rule{name = "reopen", on = "jobs", where = function(job) return job.status == "opened" end,
                 run = function(job) job:tag("twice") end}
            """)
        let outcome = lab.session.run(lab.session.rules)
        #expect(outcome.rules.map(\.changed) == [3, 3, 3])
        #expect(lab.store.jobs.prefix(3).allSatisfy { $0.status == .opened && $0.tags == ["seen", "twice"] })
        let actors = Set(lab.store.changes.map(\.actor))
        #expect(actors == ["rule:open", "rule:tag-opened", "rule:reopen"])
    }

    @Test func anErrorRollsBackThatItemOnlyAndTheRunGoesOn() throws {
        let lab = try Lab(fixture().store())
        try lab.run("""
            rule{name = "half", on = "jobs", where = {status = "new"}, run = function(job)
              job:tag("started")
              if job.id == "J-2" then
                error("J-2 is special")
              end
              job:tag("done")
            end}
            rule{name = "after", on = "jobs", run = function(job) job:tag("after") end}
            """)
        let outcome = lab.session.run(lab.session.rules)
        #expect(outcome.rules.map(\.errors) == [0 + 1, 1])
        #expect(outcome.rules.map(\.changed) == [2, 3])
        #expect(lab.store.jobs.map(\.tags) == [["started", "done", "after"], ["after"], ["started", "done", "after"], []])
        let first = try #require(outcome.failures.first)
        #expect(first.rule == "half")
        #expect(first.object == "J-2")
        #expect(first.error.message == "test.lua:4: J-2 is special")
        #expect(first.error.chunk == "test.lua")
        #expect(first.error.line == 4)
        #expect(first.error.traceback?.contains("test.lua:4: in function <test.lua:1>") == true)
        // The expired job refuses a tag: an error for that item, named.
        #expect(outcome.failures[1].error.message == "test.lua:8: job J-4 is expired: expired jobs can't be acted upon")
        #expect(!outcome.stopped)
    }

    @Test func aBatchThatKeepsNoRunUndoStillRollsBackAFailingItemOnly() throws {
        // A batch drops each item's undo once its rule succeeded: a later
        // failure still undoes its own item's changes, and only those.
        let lab = try Lab(fixture().store())
        lab.session.keepsRunUndo = false
        try lab.run("""
            rule{name = "half", on = "jobs", where = {status = "new"}, run = function(job)
              job:tag("started")
              if job.id == "J-3" then error("J-3 is special") end
              job:open()
            end}
            """)
        let outcome = lab.session.run(lab.session.rules)
        #expect(outcome.rules.map(\.errors) == [1])
        #expect(lab.store.jobs.map(\.tags) == [["started"], ["started"], [], []])
        #expect(lab.store.jobs.map(\.status) == [.opened, .opened, .new, .expired])
        #expect(lab.store.changes.filter { $0.object == "J-3" }.isEmpty)
    }

    @Test func aRolledBackItemReadsAsBeforeEvenWhenReadOften() throws {
        // Objects read often keep field values within a call: a rollback must drop them.
        let lab = try Lab(fixture().store())
        try lab.run("""
            rule{name = "open-then-fail", on = "jobs", where = {status = "new"}, run = function(job)
              if job.id ~= "J-2" then return end
              held = job
              for i = 1, 6 do local _ = job.status end
              job:open()
              for i = 1, 6 do local _ = job.status end
              error("stop")
            end}
            rule{name = "look", on = "jobs", run = function(job)
              if job.id == "J-2" then seen = job.status .. "/" .. held.status .. "/" .. held.status end
            end}
            """)
        let outcome = lab.session.run(lab.session.rules)
        #expect(outcome.rules.map(\.errors) == [1, 0])
        #expect(try lab.eval("seen") == "new/new/new")
    }

    @Test func failFastStopsAtTheFirstError() throws {
        let lab = try Lab(fixture().store())
        try lab.run("""
            rule{name = "one", on = "jobs", run = function(job) job:tag("x"); if job.id == "J-2" then error("stop") end end}
            rule{name = "two", on = "jobs", run = function(job) job:tag("y") end}
            """)
        let outcome = lab.session.run(lab.session.rules, failFast: true)
        #expect(outcome.stopped)
        #expect(outcome.failures.count == 1)
        #expect(outcome.rules.map(\.name) == ["one"])
    }

    @Test func whereFunctionErrorsAndRunawayCodeAreErrorsOfTheItem() throws {
        let lab = try Lab(fixture().store())
        lab.session.lua.limits = LuaLimits(timeout: .seconds(1), memory: 16 << 20)
        try lab.run("""
            rule{name = "picky", on = "jobs", where = function(job) return job.budget.nope.x end, run = function(job) end}
            rule{name = "loop", on = "jobs", where = {id = "J-1"}, run = function(job) job:tag("before"); while true do end end}
            rule{name = "bomb", on = "jobs", where = {id = "J-2"}, run = function(job) local t = {} while true do t[#t + 1] = ("x"):rep((1 << 20) + #t) end end}
            rule{name = "fine", on = "jobs", where = {id = "J-3"}, run = function(job) job:tag("fine") end}
            """)
        let outcome = lab.session.run(lab.session.rules)
        #expect(outcome.rules.map(\.errors) == [4, 1, 1, 0])
        #expect(outcome.failures[0].error.message == "test.lua:1: attempt to index a nil value (field 'nope')")
        #expect(outcome.failures[4].error.message == "test.lua:2: time limit exceeded (1 s)")
        #expect(outcome.failures[5].error.kind == .memory)
        #expect(lab.store.jobs.map(\.tags) == [[], [], ["fine"], []])
    }

    @Test func declarationsAreValidated() throws {
        let lab = try Lab(fixture().store())
        #expect(lab.error("rule('x')").hasPrefix("test.lua:1: rule{…} takes a table"))
        #expect(lab.error("rule{name = 'x', on = 'job', run = function() end}")
            == "test.lua:1: rule 'x': 'on' must be \"jobs\" or \"orders\" (\"job\")")
        #expect(lab.error("rule{name = 'x', on = 'jobs'}") == "test.lua:1: rule 'x': 'run' must be a function, not nil")
        #expect(lab.error("rule{name = 'x', on = 'jobs', where = {statu = 'new'}, run = print}")
            == "test.lua:1: rule 'x': 'where': unknown filter field 'statu' for jobs (known: assignee, id, merchant, service, source, status, tag, unassigned)")
        #expect(lab.error("rule{name = 'x', on = 'orders', where = {unassigned = true}, run = print}").contains("unknown filter field 'unassigned' for orders"))
        #expect(lab.error("rule{name = 'x', on = 'jobs', where = 'new', run = print}") == "test.lua:1: rule 'x': 'where' must be a filter table or a function, not string")
        #expect(lab.error("rule{on = 'jobs', run = print}") == "test.lua:1: rule: 'name' must be a string of 1 to 100 characters without spaces or control characters")
        #expect(lab.error("rule{name = 'x', on = 'jobs', run = print, descripton = 'typo'}")
            == "test.lua:1: rule 'x': unknown key 'descripton' (a rule has description, name, on, run, where)")
        try lab.run("rule{name = 'x', on = 'jobs', run = print}")
        #expect(lab.error("\n\nrule{name = 'x', on = 'orders', run = print}")
            == "test.lua:3: rule 'x': the name is already taken by the rule declared at test.lua:1")
        #expect(lab.session.rules.count == 1)
    }

    @Test func checkingModeCollectsEveryProblem() throws {
        let lab = try Lab(fixture().store())
        lab.session.collectsProblems = true
        try lab.run("""
            rule{name = 'a', on = 'jobz', where = {status = 'opne'}, run = 1}
            rule{name = 'ok', on = 'jobs', run = print}
            rule{name = 'ok', on = 'jobs', run = print}
            """)
        #expect(lab.session.problems.map(\.description) == [
            "test.lua:1: rule 'a': 'on' must be \"jobs\" or \"orders\" (\"jobz\")",
            "test.lua:1: rule 'a': 'run' must be a function, not number",
            "test.lua:3: rule 'ok': the name is already taken by the rule declared at test.lua:2",
        ])
        #expect(lab.session.rules.map(\.name) == ["ok"])
    }

    @Test func onlyChosenRulesRun() throws {
        let lab = try Lab(fixture().store())
        try lab.run("""
            rule{name = 'a', on = 'jobs', run = print}
            rule{name = 'b', on = 'jobs', run = print}
            rule{name = 'c', on = 'orders', run = print}
            """)
        #expect(try lab.session.rules(named: ["c", "a"]).map(\.name) == ["a", "c"])
        let problem = #expect(throws: RuleProblem.self) { try lab.session.rules(named: ["a", "zz", "yy"]) }
        #expect(problem?.description == "no rule named 'zz', 'yy' (declared: a, b, c)")
    }
}
