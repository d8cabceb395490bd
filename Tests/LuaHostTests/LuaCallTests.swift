import LuaHost
import Testing

struct NotFound: Error, CustomStringConvertible {
    let id: String
    var description: String { "no job with id '\(id)'" }
}

@Suite struct LuaCallTests {
    func luaWithFunctions() throws -> (LuaState, PrintedOutput) {
        let (lua, output) = try makeLua()
        try lua.setGlobal("add") { call in
            call.push(try call.integer(1) + call.integer(2))
            return 1
        }
        try lua.setGlobal(
            "jobs",
            namespace: [
                "get": { call in
                    let id = try call.string(1)
                    guard id.hasPrefix("J-") else { throw NotFound(id: id) }
                    call.push(id)
                    return 1
                },
                "fail_with_table": { _ in throw LuaCallError.value(.table(LuaTable(fields: ["code": 7]))) },
                "echo": { call in
                    let count = call.count
                    for index in 0..<count { try call.push(call.value(index + 1)) }
                    return count
                },
            ])
        return (lua, output)
    }

    @Test func hostFunctionsReturnValues() throws {
        let (lua, _) = try luaWithFunctions()
        #expect(try lua.execute("return add(2, 40)") == [42])
        #expect(try lua.execute("return jobs.get('J-1')") == ["J-1"])
        #expect(try lua.execute("return jobs.echo(1, 'a', {2})") == [1, "a", [2]])
    }

    @Test func argumentErrorsUseLauxlibWording() throws {
        let (lua, _) = try luaWithFunctions()
        #expect(expectError(lua, "jobs.get()")?.message == "test:1: bad argument #1 to 'get' (string expected, got no value)")
        #expect(expectError(lua, "jobs.get(nil)")?.message == "test:1: bad argument #1 to 'get' (string expected, got nil)")
        #expect(expectError(lua, "add(1, 2.5)")?.message == "test:1: bad argument #2 to 'add' (number has no integer representation)")
        #expect(expectError(lua, "add(1, {})")?.message == "test:1: bad argument #2 to 'add' (number expected, got table)")
    }

    @Test func swiftErrorsAreCaughtByPcall() throws {
        let (lua, _) = try luaWithFunctions()
        let back = try lua.execute("return pcall(jobs.get, 'X-9')")
        #expect(back == [false, "no job with id 'X-9'"])
        // Called from Lua code, the message carries the caller's position.
        #expect(
            try lua.execute("return pcall(function() local j = jobs.get('X-9') return j end)", chunkName: "=test")
                == [false, "test:1: no job with id 'X-9'"])
        let table = try lua.execute("local ok, e = pcall(jobs.fail_with_table) return ok, type(e), e.code")
        #expect(table == [false, "table", 7])
    }

    @Test func luaErrorsSurfaceWithPositionAndTraceback() throws {
        let (lua, _) = try luaWithFunctions()
        let source = """
            local function inner()
              error("something broke")
            end
            local function outer() inner() end
            outer()
            """
        let error = try #require(expectError(lua, source, chunkName: "@rules/demo.lua"))
        #expect(error.kind == .runtime)
        #expect(error.message == "rules/demo.lua:2: something broke")
        #expect(error.chunk == "rules/demo.lua")
        #expect(error.line == 2)
        let traceback = try #require(error.traceback)
        #expect(traceback.hasPrefix("stack traceback:"))
        #expect(traceback.contains("rules/demo.lua:2: in "))
        #expect(traceback.contains("rules/demo.lua:4: in "))
        #expect(traceback.contains("rules/demo.lua:5: in main chunk"))
    }

    @Test func hostErrorsSurfaceAtTheCallersLine() throws {
        let (lua, _) = try luaWithFunctions()
        let error = try #require(expectError(lua, "local x = 1\nlocal j = jobs.get('nope')", chunkName: "@s.lua"))
        #expect(error.message == "s.lua:2: no job with id 'nope'")
        #expect(error.line == 2)
        #expect(error.traceback == "stack traceback:\n\t[C]: in field 'get'\n\ts.lua:2: in main chunk")
    }

    @Test func hostFunctionsCallBackIntoLua() throws {
        let (lua, _) = try makeLua(limits: LuaLimits(timeout: .milliseconds(300), memory: 16 << 20))
        try lua.setGlobal("apply") { call in
            try call.checkFunction(1)
            try call.push(call.callFunction(at: 1, [call.value(2)]))
            return 1
        }
        #expect(try lua.execute("return apply(function(x) return x * 2 end, 21)") == [42])
        // An error in the callback reaches the script as an ordinary error, with the callback's position.
        #expect(
            try lua.execute("return pcall(apply, function() error('inner') end, 1)", chunkName: "=cb")
                == [false, "cb:1: inner"])
        #expect(expectError(lua, "apply(5)")?.message == "test:1: bad argument #1 to 'apply' (function expected, got number)")
        // The limits hold inside a callback: the host's own allocations are exempt, the callback's are not.
        #expect(expectError(lua, "apply(function() while true do end end, 1)")?.kind == .timeLimit)
        #expect(
            expectError(lua, "apply(function() local t = {} while true do t[#t + 1] = {} end end, 1)")?.kind == .memory)
        #expect(try lua.execute("return apply(function(x) return x end, 'still fine')") == ["still fine"])
    }

    @Test func callingGlobalsFromSwift() throws {
        let (lua, _) = try makeLua()
        try lua.execute("function greet(name, times) return string.rep(name, times, ' '), times end")
        #expect(try lua.call(global: "greet", "ho", 3) == ["ho ho ho", 3])
        #expect(throws: LuaError.self) { try lua.call(global: "missing") }
        let error = #expect(throws: LuaError.self) { try lua.call(global: "greet", "x", "many") }
        #expect(error?.message.contains("bad argument #2 to 'rep'") == true)
    }

    @Test func compileChecksWithoutRunning() throws {
        let (lua, output) = try makeLua()
        try lua.compile("print('ran')", chunkName: "@ok.lua")
        #expect(output.text == "")
        let error = #expect(throws: LuaError.self) { try lua.compile("print(", chunkName: "@bad.lua") }
        #expect(error?.kind == .syntax)
        #expect(error?.line == 1)
    }

    @Test func syntaxErrorsHaveLines() throws {
        let (lua, _) = try makeLua()
        let error = try #require(expectError(lua, "local a = 1\nlocal = 2", chunkName: "@bad.lua"))
        #expect(error.kind == .syntax)
        #expect(error.chunk == "bad.lua")
        #expect(error.line == 2)
        #expect(error.message.hasPrefix("bad.lua:2: "))
    }

    @Test func nonStringErrorValues() throws {
        let (lua, _) = try makeLua()
        #expect(expectError(lua, "error(nil)")?.message == "(error object is a nil value)")
        #expect(expectError(lua, "error({code = 1})")?.message == "(error object is a table value)")
        #expect(expectError(lua, "error(setmetatable({}, {__tostring = function() return 'custom' end}))")?.message == "custom")
    }

    @Test func thousandsOfErrorRoundTripsDoNotGrowTheHeap() throws {
        // The process-level check (RSS, in a process of its own) is in jobrulesTests.
        let (lua, _) = try luaWithFunctions()
        func cycle(_ n: Int) throws {
            for i in 0..<n {
                _ = expectError(lua, "jobs.get('bad-\(i % 10)')")
                _ = try lua.execute("return pcall(jobs.get, 'bad')")
                _ = expectError(lua, "error('lua side')")
            }
        }
        try cycle(1_000)
        let heapBefore = lua.memoryInUse
        try cycle(5_000)
        #expect(lua.memoryInUse < heapBefore + 256 * 1024)
    }
}

