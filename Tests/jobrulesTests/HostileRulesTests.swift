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
        let made = try jobrules.run(["init", "--now", "2026-11-21T09:00:00Z"], in: scratch.url)
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
}
