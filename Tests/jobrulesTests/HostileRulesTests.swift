import Foundation
import Marketplace
import Testing

/// Rules that try to escape the sandbox or exhaust the machine: each fails on
/// its own item with a clear error, and the other rules' work is saved.
@Suite struct HostileRulesTests {
    let jobrules: Binary
    let scratch: Scratch

    init() throws {
        jobrules = try Binary("jobrules")
        scratch = try Scratch()
        let made = try jobrules.run(["init", "--now", "2026-11-21T09:00:00Z", "--no-rules", "--no-events"], in: scratch.url)
        try #require(made.status == 0)
    }

    static let rules = #"""
        local function only(job) return job.id == "J-1001" end
        local function hostile(name, run, where)
          rule{name = name, on = "jobs", where = where or only, run = run}
        end
        rule{name = "good", on = "jobs", where = {status = "new"}, run = function(job) job:tag("good") end}
        hostile("os-execute", function(job) job:tag("x") os.execute("touch pwned") end)
        hostile("io-open", function(job) job:tag("x") io.open("pwned", "w") end)
        hostile("require-c", function(job) job:tag("x") require("socket.core") end)
        hostile("package-loadlib", function(job) job:tag("x") package.loadlib("/lib/x86_64-linux-gnu/libc.so.6", "system") end)
        hostile("binary-chunk", function(job) job:tag("x") assert(load("\27Lua\84\0")) end)
        hostile("string-dump", function(job) job:tag("x") string.dump(function() end) end)
        hostile("debug-hook", function(job) job:tag("x") debug.sethook() end)
        hostile("object-metatable", function(job) job:tag("x") local mt = getmetatable(job) mt.__index = nil end)
        hostile("rawset-api", function(job) job:tag("x") rawset(jobs, "get", nil) end)
        hostile("globals-metatable", function(job) job:tag("x") setmetatable(_G, {}) end)
        hostile("endless-where", function(job) job:tag("x") end, function(job) if job.id == "J-1001" then while true do end end return false end)
        hostile("endless-run", function(job) job:tag("x") while true do end end)
        hostile("memory-bomb", function(job) job:tag("x") local t = {} while true do t[#t + 1] = string.rep("x", (1 << 20) + #t) end end)
        hostile("deep-recursion", function(job) job:tag("x") local function f() return 1 + f() end f() end)
        hostile("error-table", function(job) job:tag("x") error({code = 42}) end)
        hostile("error-nil", function(job) job:tag("x") error(nil) end)
        hostile("coroutine-loop", function(job) job:tag("x") coroutine.wrap(function() while true do end end)() end)
        hostile("coroutine-pcall", function(job) job:tag("x") coroutine.wrap(function() while true do pcall(function() while true do end end) end end)() end)
        hostile("coroutine-yield", function(job) job:tag("x") local co = coroutine.wrap(function() while true do coroutine.yield() end end) while true do co() end end)
        hostile("xpcall-swallow", function(job) job:tag("x") while true do xpcall(function() while true do end end, function() return "swallowed" end) end end)
        """#

    /// What each hostile rule's error says.
    static let expected: [String: String] = [
        "os-execute": "hostile.lua:6: attempt to call a nil value (field 'execute')",
        "io-open": "hostile.lua:7: attempt to index a nil value (global 'io')",
        "require-c": "hostile.lua:8: attempt to call a nil value (global 'require')",
        "package-loadlib": "hostile.lua:9: attempt to index a nil value (global 'package')",
        "binary-chunk": "hostile.lua:10: attempt to load a binary chunk (mode is 't')",
        "string-dump": "hostile.lua:11: attempt to call a nil value (field 'dump')",
        "debug-hook": "hostile.lua:12: attempt to index a nil value (global 'debug')",
        "object-metatable": "hostile.lua:13: attempt to index a string value (local 'mt')",
        "rawset-api": "hostile.lua:14: rawset on a read-only table",
        "globals-metatable": "hostile.lua:15: cannot change a protected metatable",
        "endless-where": "hostile.lua:16: time limit exceeded (0.3 s)",
        "endless-run": "hostile.lua:17: time limit exceeded (0.3 s)",
        // With the position when the allocation that failed was the script's own.
        "memory-bomb": "memory limit exceeded (64 MiB)",
        // The Lua stack grows on the heap: endless recursion meets the memory
        // limit (or, under a large one, Lua's own "stack overflow").
        "deep-recursion": "memory limit exceeded (64 MiB)",
        "error-table": "(error object is a table value)",
        "error-nil": "(error object is a nil value)",
        "coroutine-loop": "hostile.lua:22: time limit exceeded (0.3 s)",
        "coroutine-pcall": "hostile.lua:23: time limit exceeded (0.3 s)",
        "coroutine-yield": "hostile.lua:24: time limit exceeded (0.3 s)",
        "xpcall-swallow": "hostile.lua:25: time limit exceeded (0.3 s)",
    ]

    /// Runs hostile.lua with `extra` options; the report and the errors by rule.
    func run(_ extra: [String]) throws -> (report: [String: Any], messages: [String: String]) {
        let result = try jobrules.run(
            ["run", "--rules", "hostile.lua", "--now", "2026-11-21T09:00:00Z", "--memory-limit", "64M", "--json"] + extra,
            in: scratch.url)
        #expect(result.status == 1, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let errors = try #require(report["errors"] as? [[String: Any]])
        var messages: [String: String] = [:]
        for error in errors {
            let rule = try #require(error["rule"] as? String)
            #expect(messages[rule] == nil, "one error per hostile rule: \(rule)")
            #expect(error["object"] as? String == "J-1001")
            messages[rule] = error["message"] as? String
        }
        return (report, messages)
    }

    @Test func eachHostileRuleFailsAloneAndTheRestIsSaved() throws {
        try scratch.write("hostile.lua", Self.rules)
        // Bombs get time to reach the memory limit on a loaded machine; loops get 0.3 s.
        let bombs = ["memory-bomb", "deep-recursion"]
        let rest = ["good"] + Self.expected.keys.filter { !bombs.contains($0) }.sorted()
        let first = try run(["--timeout", "300ms", "--only"] + rest)
        #expect(first.messages == Self.expected.filter { !bombs.contains($0.key) })
        #expect(first.report["saved"] as? Bool == true)
        let second = try run(["--timeout", "60s", "--only", "good"] + bombs)
        #expect(Set(second.messages.keys) == Set(bombs))
        for bomb in bombs {
            let message = second.messages[bomb] ?? ""
            #expect(message == Self.expected[bomb] || message.hasPrefix("hostile.lua:") && message.hasSuffix(": " + (Self.expected[bomb] ?? "")), "\(message)")
        }
        // The good rule's work is saved; nothing of the hostile rules is.
        let store = try JSONStoreFile(path: scratch.url.appendingPathComponent("store.json").path).load().store
        let newJobs = store.jobs.filter { $0.status == .new }
        #expect(!newJobs.isEmpty && newJobs.allSatisfy { $0.tags.contains("good") })
        #expect(!store.jobs.contains { $0.tags.contains("x") })
        let audit = try String(contentsOf: scratch.url.appendingPathComponent("store.json.audit.jsonl"), encoding: .utf8)
        let actors = Set(audit.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["actor"] as? String
        })
        #expect(actors == ["expiry", "rule:good"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).sorted()
            == ["hostile.lua", "store.json", "store.json.audit.jsonl", "store.json.lock"])
    }

    // MARK: Limits a script must not escape

    /// Runs `exec SCRIPT` on the store with `extra` options, killed after 20 s.
    func exec(_ name: String, _ source: String, _ extra: [String] = []) throws -> Binary.Result {
        try scratch.write(name, source)
        return try jobrules.run(["exec", name, "--now", "2026-11-21T09:00:00Z"] + extra, in: scratch.url, timeout: 20)
    }

    /// A runaway script: stopped by the time limit (`limit`, as the message
    /// says it) within a few seconds, exit 1.
    func expectStopped(
        _ result: Binary.Result, _ what: String, limit: String = "0.5 s", within: Double = 6,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(!result.timedOut, "\(what): still running after 20 s", sourceLocation: sourceLocation)
        #expect(result.status == 1, "\(what): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains("time limit exceeded (\(limit))"), "\(what): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.seconds < within, "\(what): took \(result.seconds) s", sourceLocation: sourceLocation)
    }

    @Test func closeHandlersOfCoroutinesAreStoppedByTheTimeLimit() throws {
        let closed = try exec("close.lua", """
            local co = coroutine.create(function()
              local x <close> = setmetatable({}, {__close = function() while true do end end})
              coroutine.yield()
            end)
            coroutine.resume(co)
            coroutine.close(co)
            """, ["--timeout", "500ms"])
        expectStopped(closed, "coroutine.close")
        let wrapped = try exec("wrap.lua", """
            local f = coroutine.wrap(function()
              local x <close> = setmetatable({}, {__close = function() while true do end end})
              coroutine.yield()
              error("boom")
            end)
            f() f()
            """, ["--timeout", "500ms"])
        expectStopped(wrapped, "coroutine.wrap erroring")
        // A close handler that runs a while but ends is still run, inside the limits.
        let ends = try exec("ends.lua", """
            local co = coroutine.create(function()
              local x <close> = setmetatable({}, {__close = function() print("closed") end})
              coroutine.yield()
            end)
            coroutine.resume(co)
            print(coroutine.close(co))
            print(pcall(coroutine.close, coroutine.running()))
            """)
        #expect(ends.status == 0 && ends.stdout == "closed\ntrue\nfalse\tcannot close a running coroutine\n", "\(ends.stdout)\(ends.stderr)")
    }

    @Test func finalizersAreRefused() throws {
        // A finalizer would run with hooks off (Lua turns them off for __gc): no limit could stop it.
        try scratch.write("gc.lua", """
            setmetatable({}, {__gc = function() while true do end end})
            rule{name = "x", on = "jobs", run = function(job) end}
            """)
        let run = try jobrules.run(["run", "--rules", "gc.lua", "--now", "2026-11-21T09:00:00Z"], in: scratch.url, timeout: 20)
        #expect(!run.timedOut)
        // An error at a file's top level: that file's rules don't run.
        #expect(run.status == 1)
        #expect(run.stdout.contains("gc.lua:1: a __gc finalizer is not allowed in rules and scripts"), "\(run.stdout)")
        // The same in a rule that also fills the heap: the emergency collection finds no finalizer to run.
        try scratch.write("gc-bomb.lua", """
            rule{name = "bomb", on = "jobs", where = {status = "new"}, run = function(job)
              local ok = pcall(setmetatable, {}, {__gc = function() while true do end end})
              local t = {} while true do t[#t + 1] = string.rep("x", 4096) .. #t end
            end}
            """)
        let bomb = try jobrules.run(
            ["run", "--rules", "gc-bomb.lua", "--now", "2026-11-21T09:00:00Z", "--memory-limit", "32M"], in: scratch.url, timeout: 30)
        #expect(!bomb.timedOut)
        #expect(bomb.status == 1, "\(bomb.stderr)")
        #expect(bomb.stdout.contains("memory limit exceeded (32 MiB)"))
    }

    /// Library functions that loop in C: each stopped by the time limit, or
    /// done at once where there is nothing to loop over. Without a check of
    /// their own, each runs far past its limit: hours for the patterns, the
    /// table shifts and moves, 10 s or more for the sort and the compile.
    static let longLibraryCalls: [(name: String, code: String, timeout: String)] = [
        ("trim", #"local s = "x" .. string.rep(" ", 40000) .. "x" return s:match("^%s*(.-)%s*$")"#, "500ms"),
        ("find", #"return string.find(("a"):rep(30000), ".-.-.-b")"#, "500ms"),
        ("gsub", #"return (("a"):rep(30000)):gsub(".-.-.-b", "")"#, "500ms"),
        ("gmatch", #"for x in (("a"):rep(30000)):gmatch(".-.-.-b") do end"#, "500ms"),
        ("balanced", #"return (("(("):rep(20000)):find("%b()%b()%b()x")"#, "500ms"),
        ("move", #"return table.move({1}, 1, 2^40, 1, {})"#, "500ms"),
        ("insert", #"table.insert(setmetatable({}, {__len = function() return 2^50 end}), 1, "x")"#, "500ms"),
        ("remove", #"table.remove(setmetatable({}, {__len = function() return 2^50 end}), 1)"#, "500ms"),
        ("sort", #"local s = ("a"):rep(1 << 24) local t = {} for i = 1, 4000 do t[i] = s end table.sort(t)"#, "500ms"),
        ("long-set", #"return ("a"):rep(1000000):find("^[" .. ("b"):rep(1000000) .. "a]*x")"#, "500ms"),
        ("load", #"load(("x = 1 "):rep(80000000))"#, "2s"),
    ]
    /// The library function each call is stopped in, as the traceback names it.
    static let stoppedIn = ["trim": "function 'string.match'", "find": "function 'string.find'", "gsub": "function 'string.gsub'",
                            "balanced": "function 'string.find'", "move": "function 'table.move'", "insert": "function 'table.insert'",
                            "remove": "function 'table.remove'", "sort": "function 'table.sort'", "long-set": "function 'string.find'"]

    @Test func longRunningLibraryFunctionsStopAtTheTimeLimit() throws {
        for call in Self.longLibraryCalls {
            let result = try exec(call.name + ".lua", call.code, ["--timeout", call.timeout, "--memory-limit", "2G"])
            expectStopped(result, call.name, limit: call.timeout == "2s" ? "2 s" : "0.5 s")
            if let function = Self.stoppedIn[call.name] {
                #expect(result.stderr.contains("[C]: in \(function)"), "\(call.name): \(result.stderr)")
            }
        }
        // Nothing to repeat: done at once, not 2^62 empty copies. A plain
        // search is linear: done at once, not in length × length steps.
        let quick = try exec("quick.lua", """
            print(#string.rep("", 2^62), #string.rep("", 2^62, ""), #string.rep("ab", 3, ","))
            local s = ("a"):rep(20000000)
            print(s:find(("a"):rep(10000) .. "b", 1, true), s:find(("a"):rep(10000) .. "b"), s:find("aab", -3, true))
            """, ["--timeout", "500ms", "--memory-limit", "1G"])
        #expect(quick.status == 0 && quick.stdout == "0\t0\t8\nnil\tnil\tnil\n", "\(quick.stdout)\(quick.stderr)")
    }

    @Test func whatAScriptMakesTheHostHoldCountsAgainstItsLimits() throws {
        // Tags: a job has at most 100.
        let tags = try exec("tags.lua", #"local job = jobs.get("J-1001") for i = 1, 9000 do job:tag("t" .. i) end"#)
        #expect(tags.status == 1)
        #expect(tags.stderr.contains("tags.lua:1: job J-1001 already has 100 tags, the most a job can have"), "\(tags.stderr)")
        // Notes: many small ones hold little (one old value of the job, not
        // one per note): under a 2 GB address space, where one old value per
        // note took 5 GB.
        try scratch.write("notes.lua", #"local job = jobs.get("J-1001") for i = 1, 16000 do job:note("n") end"#)
        let shell = Binary(path: "/bin/sh")
        let notes = try shell.run(
            ["-c", "ulimit -v 2000000; exec \"$0\" exec notes.lua --now 2026-11-21T09:00:00Z", jobrules.url.path], in: scratch.url, timeout: 60)
        #expect(notes.status == 0, "\(notes.stderr)")
        let audit = try FileManager.default.attributesOfItem(atPath: scratch.url.appendingPathComponent("store.json.audit.jsonl").path)
        #expect((audit[.size] as? Int ?? 0) < 16000 * 300, "\(audit[.size] ?? 0) bytes of audit log for 16 000 notes")
        // Big notes: the host's copies count with the heap.
        let big = try exec("big.lua", #"local job = jobs.get("J-1002") local t = string.rep("x", 1 << 20) for i = 1, 16000 do job:note(t) end"#, ["--memory-limit", "64M"])
        #expect(big.status == 1)
        #expect(big.stderr.contains("memory limit exceeded (64 MiB; "), "\(big.stderr)")
        #expect(big.stderr.contains("of it held by the changes this call made)"), "\(big.stderr)")
        // Emails: at most 10 000 from one call.
        let mail = try exec("mail.lua", #"for i = 1, 300000 do notify{to = "m1", subject = "s" .. i, body = string.rep("b", 1000)} end"#)
        #expect(mail.status == 1)
        #expect(mail.stderr.contains("mail.lua:1: notify: more than 10000 emails in one call"), "\(mail.stderr)")
        // Under an address-space limit, an error, not a crash.
        let limited = try shell.run(
            ["-c", "ulimit -v 2000000; exec \"$0\" exec big.lua --now 2026-11-21T09:00:00Z --memory-limit 1G", jobrules.url.path],
            in: scratch.url, timeout: 60)
        #expect(limited.status == 1, "\(limited.stderr)")
        #expect(limited.stderr.contains("memory limit exceeded"), "\(limited.stderr)")
        #expect(!limited.stderr.contains("Fatal error"))
    }

    @Test func aTimeLimitIsNeverLessThanAsked() throws {
        let loop = #"local c = os.clock() while os.clock() - c < 0.3 do end print("finished")"#
        for tiny in ["0.4ms", "0.0000000001s", "0.000001"] {
            let result = try exec("tiny.lua", loop, ["--timeout", tiny])
            #expect(result.status == 1, "--timeout \(tiny): \(result.stdout)")
            #expect(result.stderr.contains("time limit exceeded"))
        }
        for bad in ["0x10", "1e-9s", " 5", "+5", "-1", "5 s", "inf", "nan", "5sec", "1.5.2", ".5", "99999999999999999999", "8760.1h"] {
            let result = try exec("tiny.lua", loop, ["--timeout=" + bad])
            #expect(result.status == 2, "--timeout '\(bad)' was taken")
            #expect(result.stderr.contains("invalid --timeout '\(bad)'"), "\(result.stderr)")
        }
        for bad in ["0x10", "1e3", "-64M", "64 M"] {
            let result = try exec("tiny.lua", loop, ["--memory-limit=" + bad])
            #expect(result.status == 2 && result.stderr.contains("invalid --memory-limit"), "--memory-limit '\(bad)' was taken")
        }
        // Fractions whose arithmetic once overflowed: taken, as the time they say.
        for fine in ["1.5000000h", "0.999999999m", "0.9223372036", "8759.999999999999h"] {
            let result = try exec("tiny.lua", "print('ok')", ["--timeout=" + fine])
            #expect(result.status == 0 && result.stdout == "ok\n", "--timeout \(fine): \(result.stderr)")
        }
        let lock = try exec("tiny.lua", loop, ["--lock-timeout", "0x10"])
        #expect(lock.status == 2 && lock.stderr.contains("invalid --lock-timeout '0x10'"))
    }

    @Test func aWholeBatchStopsAtMaxRunTimeWithNothingWritten() throws {
        let storePath = scratch.url.appendingPathComponent("store.json").path
        let before = try Data(contentsOf: URL(fileURLWithPath: storePath))
        // Each item is well within --timeout; together they are not within --max-run-time.
        try scratch.write("slow.lua", #"rule{name = "slow", on = "jobs", run = function(job) local c = os.clock() while os.clock() - c < 0.2 do end job:tag("slow") end}"#)
        let run = try jobrules.run(["run", "--rules", "slow.lua", "--now", "2026-11-21T09:00:00Z", "--max-run-time", "1s"], in: scratch.url, timeout: 30)
        #expect(run.status == 2)
        #expect(run.stderr.contains("jobrules: stopped by --max-run-time 1s at rule slow on job "), "\(run.stderr)")
        #expect(run.stderr.contains(": nothing was written"))
        #expect(run.seconds < 5)
        // One call with no time limit of its own is cut too.
        try scratch.write("forever.lua", #"rule{name = "forever", on = "jobs", run = function(job) while true do end end}"#)
        let forever = try jobrules.run(
            ["run", "--rules", "forever.lua", "--now", "2026-11-21T09:00:00Z", "--timeout", "0", "--max-run-time", "1s"], in: scratch.url, timeout: 30)
        #expect(!forever.timedOut && forever.status == 2, "\(forever.stderr)")
        let script = try exec("forever-script.lua", "while true do end", ["--timeout", "0", "--max-run-time", "500ms"])
        #expect(!script.timedOut && script.status == 2, "\(script.stderr)")
        #expect(script.stderr.contains("stopped by --max-run-time 500ms running forever-script.lua"), "\(script.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == before)
        #expect(!FileManager.default.fileExists(atPath: storePath + ".audit.jsonl"))
        // The default is there, and 0 means none.
        let help = try jobrules.run(["run", "--help"])
        #expect(help.stdout.contains("--max-run-time <TIME>") && help.stdout.contains("(default: 30m)"))
    }

    @Test func anImportStopsAtMaxRunTimeWithNothingWritten() throws {
        let storePath = scratch.url.appendingPathComponent("store.json").path
        let before = try Data(contentsOf: URL(fileURLWithPath: storePath))
        let lines = (1...3000).map { #"{"event":"c\#($0)","type":"contact.received","at":"2026-11-21T09:10:00Z","contact":{"id":"k\#($0)","email":"k\#($0)@example.com"}}"# }
        try scratch.write("feed.jsonl", lines.joined(separator: "\n") + "\n")
        let result = try jobrules.run(["import", "feed.jsonl", "--now", "2026-11-21T09:30:00Z", "--max-run-time", "1ms"], in: scratch.url, timeout: 30)
        #expect(result.status == 2)
        #expect(result.stderr.contains("jobrules: stopped by --max-run-time 1ms "), "\(result.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == before)
        let unlimited = try jobrules.run(["import", "feed.jsonl", "--now", "2026-11-21T09:30:00Z", "--max-run-time", "0"], in: scratch.url, timeout: 30)
        #expect(unlimited.status == 0, "\(unlimited.stderr)")
    }

    @Test func anObjectARollbackRemovedRefusesInsteadOfReadingItsSuccessor() throws {
        try scratch.write("stale.lua", """
            local function only(job) return job.id == "J-1001" end
            rule{name = "first", on = "jobs", where = only, run = function(job) M = job:reply("first") E = notify{to = "m1", subject = "s1"} error("boom") end}
            rule{name = "second", on = "jobs", where = only, run = function(job)
              job:reply("second") notify{to = "m2", subject = "s2"}
              local ok, e = pcall(function() return M.body end)
              local ok2, e2 = pcall(function() return E.subject end)
              print(ok, e) print(ok2, e2)
            end}
            """)
        let result = try jobrules.run(["run", "--rules", "stale.lua", "--now", "2026-11-21T09:00:00Z", "--dry-run"], in: scratch.url)
        #expect(result.stdout.contains("false\tstale.lua:5: this message object was rolled back (an error or an undo removed it): it no longer exists"), "\(result.stdout)")
        #expect(result.stdout.contains("false\tstale.lua:6: this outbox entry object was rolled back"), "\(result.stdout)")
    }

    @Test func extremeNumbersGivenToTheAPIAreRefusedNeverTrap() throws {
        let result = try exec("numbers.lua", """
            local values = {math.maxinteger, math.mininteger, 2^63, -2^63, 1e308, -1e308, 0/0, 1/0, -1/0, 0.5, -1, 0}
            local job, order = jobs.get("J-1001"), orders.get("O-1")
            local calls = 0
            for _, v in ipairs(values) do
              for _, f in ipairs{
                function() return hours(v) end, function() return days(v) end, function() return time.iso(v) end,
                function() return order:request_extension(v, "x") end, function() return jobs.get(v) end,
                function() return jobs.where{created_at = v} end, function() return jobs.count{hours_left = v} end,
                function() return orders.where{due_at = v} end, function() return job:reply(v) end, function() return job:note(v) end,
                function() return notify{to = "m1", subject = tostring(v), job = v} end,
                function() return agency.set_preference("available", v) end, function() return job:tag(v) end,
                function() return string.rep("x", v) end, function() return ("x"):sub(v, v) end,
                function() return table.concat({1, 2}, ",", v, v) end, function() return utf8.char(v) end,
                function() return os.date("!%Y", v) end, function() return os.time{year = v, month = 1, day = 1} end,
                function() return table.unpack({}, v, v) end, function() return table.move({}, v, v, v) end,
                function() return table.insert({}, v, 1) end, function() return ("x"):rep(3, v) end,
              } do
                pcall(f)
                calls = calls + 1
              end
            end
            print(calls)
            """, ["--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "276\n")
    }

    /// What the API takes, the store reads back: every text a script can
    /// give, too long or with control characters, is refused or saved in a
    /// form the next run loads.
    @Test func whatTheAPITakesTheStoreReadsBack() throws {
        let result = try exec("texts.lua", #"""
            local job, order = jobs.get("J-1001"), orders.get("O-1")
            local long, control = ("x"):rep((1 << 20) + 1), "a\27[2Jb\0c\u{9B}d\n"
            for _, text in ipairs{long, control, ("r"):rep(4097)} do
              for _, f in ipairs{
                function() job:reply(text) end, function() job:note(text) end, function() job:tag(text) end,
                function() notify{to = "m1", subject = text, body = text} end, function() notify{to = "m1", subject = "s", body = text} end,
                function() notify{to = text .. "@x.example", subject = "s"} end, function() order:post_update(text) end,
                function() order:request_extension(2, text) end,
                function() agency.set_preference("notification_email", text .. "@x.example") end,
                function() jobs.get("J-1002"):decline(text) end,
              } do
                pcall(f)
              end
            end
            """#)
        #expect(result.status == 0, "\(result.stderr)")
        let next = try jobrules.run(["run", "--rules", scratch.url.path, "--now", "2026-11-21T09:00:00Z"], in: scratch.url)
        #expect(next.status == 0, "the saved store is read back: \(next.stderr)")
    }

    @Test func scriptsAndFeedsTooLargeToReadAreRefused() throws {
        let script = try jobrules.run(["exec", "/dev/zero", "--now", "2026-11-21T09:00:00Z"], in: scratch.url, timeout: 60)
        #expect(script.status == 2 && script.stderr.contains("cannot read '/dev/zero': it holds more than 16 MiB, the most jobrules reads"), "\(script.stderr)")
        let rules = try jobrules.run(["run", "--rules", "/dev/zero", "--now", "2026-11-21T09:00:00Z"], in: scratch.url, timeout: 60)
        #expect(rules.status == 2 && rules.stderr.contains("more than 16 MiB"), "\(rules.stderr)")
    }

    @Test func withJSONStandardOutputIsOneDocument() throws {
        try scratch.write("chatty.lua", #"print("loading") rule{name = "chatty", on = "jobs", where = {status = "new"}, run = function(job) print("at", job.id) job:tag("seen") end}"#)
        let result = try jobrules.run(["run", "--rules", "chatty.lua", "--now", "2026-11-21T09:00:00Z", "--json"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["saved"] as? Bool == true)
        #expect(result.stderr.hasPrefix("loading\nat\tJ-"), "\(result.stderr)")
    }

    /// Every road to the tables behind the API and the libraries.
    @Test func noRuleFileCanChangeTheAPIOrALibraryForAnother() throws {
        try scratch.write("a-attack.lua", """
            local attempts = {
              function() local _, t = pairs(jobs) t.count = function() return 999 end end,
              function() local _, t = pairs(members) rawset(t, "for_service", function() return {} end) end,
              function() local f, t = pairs(string) local k, v = f(t, nil) t[k] = nil end,
              function() for k, v in pairs(os) do os[k] = nil end end,
              function() local mt = getmetatable(jobs) mt.__index = {} end,
              function() local mt = getmetatable("") mt.__index = {} end,
              function() local t = getmetatable(jobs.get("J-1001")) t.__index = nil end,
              function() rawset(table, "insert", print) end,
              function() next(jobs, nil) end,
              function() for i, v in ipairs(jobs) do end end,
              function() local ok, e = pcall(error, jobs) e.count = nil end,
              function() coroutine.wrap(function() local _, t = pairs(math) t.floor = nil end)() end,
              function() setmetatable(jobs, {}) end,
              function() jobs.count = nil end,
            }
            for i, attack in ipairs(attempts) do pcall(attack) end
            rule{name = "attack", on = "jobs", run = function(job) end}
            """)
        // What every API table and library holds, as the next file sees it.
        try scratch.write("b-fingerprint.lua", """
            local lines = {}
            for _, name in ipairs{"jobs", "orders", "members", "merchants", "contacts", "outbox", "time", "string", "table",
                                  "math", "utf8", "os", "coroutine"} do
              local keys = {}
              for k, v in pairs(_G[name]) do keys[#keys + 1] = tostring(k) .. ":" .. type(v) end
              table.sort(keys)
              lines[#lines + 1] = name .. " " .. table.concat(keys, ",")
            end
            lines[#lines + 1] = "count " .. jobs.count{} .. " for_service " .. #members.for_service("seo")
            print(table.concat(lines, "\\n"))
            """)
        let clean = try jobrules.run(["run", "--rules", "b-fingerprint.lua", "--now", "2026-11-21T09:00:00Z", "--dry-run"], in: scratch.url)
        let attacked = try jobrules.run(["run", "--rules", "a-attack.lua", "b-fingerprint.lua", "--now", "2026-11-21T09:00:00Z", "--dry-run"], in: scratch.url)
        #expect(clean.status == 0 && attacked.status == 0, "\(attacked.stderr)")
        let fingerprint = { (output: String) in output.split(separator: "\n").prefix(14).joined(separator: "\n") }
        #expect(fingerprint(clean.stdout).contains("count 30 for_service "), "\(clean.stdout)")
        #expect(fingerprint(attacked.stdout) == fingerprint(clean.stdout))
    }
}
