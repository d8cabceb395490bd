import LuaHost
import Testing

/// Each limit stops its chunk with a clear error, `pcall` cannot swallow it,
/// and the VM is healthy afterwards.
@Suite struct LuaLimitsTests {
    static let short = LuaLimits(timeout: .milliseconds(300), memory: 32 << 20)

    func expectStopped(_ source: String, kind: LuaError.Kind, message: String) throws {
        // Memory bombs get time enough to reach the memory limit on a loaded machine.
        let limits = kind == .memory ? LuaLimits(timeout: .seconds(20), memory: 32 << 20) : Self.short
        let (lua, output) = try makeLua(limits: limits)
        let clock = ContinuousClock()
        let start = clock.now
        let error = expectError(lua, source + "\nprint('escaped')", chunkName: "@bomb.lua")
        let elapsed = clock.now - start
        #expect(error?.kind == kind)
        #expect(error?.message == message)
        #expect(!output.text.contains("escaped"))
        #expect(elapsed < .seconds(kind == .memory ? 20 : 5))
        // The VM is healthy: the next chunk runs, with the full budget.
        #expect(try lua.execute("local s = 0 for i = 1, 1000 do s = s + i end return s") == [500_500])
        #expect(try lua.execute("return #string.rep('x', 1000)") == [1000])
        #expect(lua.memoryInUse < 32 << 20)
    }

    @Test func endlessLoopIsStopped() throws {
        try expectStopped("while true do end", kind: .timeLimit, message: "bomb.lua:1: time limit exceeded (0.3 s)")
    }

    @Test func endlessLoopInsidePcallIsStopped() throws {
        try expectStopped(
            "for i = 1, 100 do pcall(function() while true do end end) end", kind: .timeLimit,
            message: "bomb.lua:1: time limit exceeded (0.3 s)")
    }

    @Test func xpcallHandlerCannotSwallowTheStop() throws {
        try expectStopped(
            "while true do xpcall(function() while true do end end, function(e) return e end) end", kind: .timeLimit,
            message: "bomb.lua:1: time limit exceeded (0.3 s)")
    }

    @Test func endlessLoopInCoroutineIsStopped() throws {
        try expectStopped(
            "local co = coroutine.wrap(function() while true do end end)\nprint(pcall(co))", kind: .timeLimit,
            message: "bomb.lua:2: time limit exceeded (0.3 s)")
        try expectStopped(
            "local co = coroutine.create(function() while true do coroutine.yield() end end)\nwhile true do coroutine.resume(co) end",
            kind: .timeLimit, message: "bomb.lua:2: time limit exceeded (0.3 s)")
    }

    @Test func tableFillingLoopIsStopped() throws {
        try expectStopped(
            "local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end", kind: .memory,
            message: "bomb.lua:1: memory limit exceeded (32 MiB)")
    }

    @Test func memoryBombInsidePcallIsStopped() throws {
        try expectStopped(
            "local keep = {}\nfor i = 1, 100 do pcall(function() local t = {} while true do t[#t + 1] = ('x'):rep(100) end end) end",
            kind: .memory, message: "bomb.lua:2: memory limit exceeded (32 MiB)")
    }

    @Test func hugeStringIsStopped() throws {
        // 2^40 bytes: Lua itself refuses the size.
        let (lua, _) = try makeLua(limits: Self.short)
        let error = expectError(lua, "local s = string.rep('x', 2^40)", chunkName: "@bomb.lua")
        #expect(error?.kind == .runtime)
        #expect(error?.message == "bomb.lua:1: resulting string too large")
        // 2^30 bytes: the allocator refuses it, and no pcall gets it back.
        try expectStopped(
            "print(pcall(string.rep, 'x', 2^30))", kind: .memory, message: "bomb.lua:1: memory limit exceeded (32 MiB)")
    }

    @Test func concatenationBombIsStopped() throws {
        try expectStopped(
            "local s = 'x' while true do s = s .. s end", kind: .memory,
            message: "bomb.lua: memory limit exceeded (32 MiB)")
    }

    @Test func deepRecursionIsAnOrdinaryError() throws {
        let (lua, _) = try makeLua(limits: LuaLimits(timeout: .seconds(10), memory: 512 << 20))
        let error = expectError(lua, "local function f() return 1 + f() end f()", chunkName: "@r.lua")
        #expect(error?.kind == .runtime)
        #expect(error?.message.contains("stack overflow") == true)
        #expect(try lua.execute("return 1") == [1])
    }

    @Test func eachCallGetsItsOwnTimeBudget() throws {
        let (lua, _) = try makeLua(limits: LuaLimits(timeout: .milliseconds(200), memory: nil))
        // Ten calls of ~50 ms each: 500 ms in all, over the 200 ms budget of one call.
        for _ in 0..<10 {
            try lua.execute("local t = os.clock() while os.clock() - t < 0.05 do end")
        }
    }

    @Test func hostFunctionsMayAllocatePastTheLimitButTheScriptStops() throws {
        let (lua, output) = try makeLua(limits: LuaLimits(timeout: .seconds(5), memory: 8 << 20))
        try lua.setGlobal("big") { call in
            call.push(String(repeating: "y", count: 16 << 20))
            return 1
        }
        let error = expectError(lua, "local ok = pcall(big)\nprint('escaped')", chunkName: "@h.lua")
        #expect(error?.kind == .memory)
        #expect(!output.text.contains("escaped"))
    }

    @Test func interruptStopsAChunk() throws {
        let (lua, _) = try makeLua(limits: .none)
        try lua.setGlobal("stop_me") { call in
            call.lua.interrupt()
            return 0
        }
        let error = expectError(lua, "stop_me()\nwhile true do end", chunkName: "@i.lua")
        #expect(error?.kind == .interrupted)
        #expect(error?.message == "i.lua:1: interrupted")
        #expect(try lua.execute("return 2") == [2])
    }
}
