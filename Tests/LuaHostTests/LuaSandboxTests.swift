import LuaHost
import Testing

@Suite struct LuaSandboxTests {
    @Test(arguments: ["io", "package", "require", "dofile", "loadfile", "debug", "warn", "module", "loadstring", "setfenv"])
    func dangerousGlobalsAreAbsent(name: String) throws {
        let (lua, _) = try makeLua()
        #expect(try lua.execute("return \(name) == nil") == [true])
    }

    @Test(arguments: ["execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale"])
    func osHasOnlyItsSafePart(name: String) throws {
        let (lua, _) = try makeLua()
        #expect(try lua.execute("return os.\(name) == nil") == [true])
        #expect(try lua.execute("return type(os.time()), type(os.clock()), os.date('!%Y-%m-%d', 0)") == ["number", "number", "1970-01-01"])
    }

    @Test func stringDumpIsGoneEverywhere() throws {
        let (lua, _) = try makeLua()
        #expect(try lua.execute("return string.dump, ('').dump") == [.nil, .nil])
        #expect(try lua.execute("return getmetatable('')") == [false])
    }

    @Test func loadTakesTextOnly() throws {
        let (lua, _) = try makeLua()
        #expect(try lua.execute("return load('return 1 + 1')()") == [2])
        // A binary chunk (signature ESC 'Lua') is refused even when mode "b" is asked for.
        let back = try lua.execute(#"return load("\27Lua\84\0", 'x', 'b')"#)
        #expect(back.first == .nil)
        if case .string(let message) = back.last { #expect(message.description.contains("attempt to load a binary chunk")) }
        else { Issue.record("no message") }
        // load with an environment still works; without one it sees the sandbox.
        #expect(try lua.execute("return load('return x', 'c', 't', {x = 5})()") == [5])
        #expect(try lua.execute("return load('return io')()") == [.nil])
    }

    @Test func collectgarbageOnlyCounts() throws {
        let (lua, _) = try makeLua()
        #expect(try lua.execute("return type(collectgarbage('count'))") == ["number"])
        for option in ["collect", "stop", "step", "incremental", "generational", "setpause"] {
            let error = expectError(lua, "collectgarbage('\(option)')")
            #expect(error?.message.contains("not allowed") == true, "\(option)")
        }
        #expect(expectError(lua, "collectgarbage()")?.message.contains("not allowed") == true)
    }

    @Test func hostGlobalsCannotBeOverwritten() throws {
        let (lua, _) = try makeLua()
        try lua.setGlobal("jobs", namespace: ["count": { call in call.push(3); return 1 }])
        #expect(expectError(lua, "jobs = nil")?.message == "test:1: cannot assign to 'jobs': it is a read-only global")
        #expect(expectError(lua, "print = function() end")?.message.contains("read-only global") == true)
        #expect(expectError(lua, "_G.jobs = 1")?.message.contains("read-only global") == true)
        #expect(expectError(lua, "rawset(_G, 'jobs', 1)")?.message.contains("read-only global") == true)
        #expect(expectError(lua, "jobs.count = nil")?.message == "test:1: attempt to modify read-only table 'jobs'")
        #expect(expectError(lua, "rawset(jobs, 'count', 1)")?.message.contains("read-only table") == true)
        #expect(expectError(lua, "string.format = nil")?.message.contains("read-only table 'string'") == true)
        #expect(expectError(lua, "table.insert = nil")?.message.contains("read-only") == true)
        #expect(expectError(lua, "setmetatable(_G, {})")?.message.contains("protected metatable") == true)
        #expect(expectError(lua, "setmetatable(jobs, {})")?.message.contains("protected metatable") == true)
        #expect(try lua.execute("return getmetatable(_G), getmetatable(jobs)") == [false, false])
        // A local named like a global shadows it for that chunk only.
        #expect(try lua.execute("local jobs = 1 return jobs") == [1])
        #expect(try lua.execute("return jobs.count()") == [3])
        // Scripts' own globals work as usual.
        #expect(try lua.execute("counter = 1 counter = counter + 1 return counter") == [2])
        // Library tables still iterate and their functions work.
        #expect(try lua.execute("local n = 0 for _ in pairs(string) do n = n + 1 end return n > 10") == [true])
        #expect(try lua.execute("return ('%d-%s'):format(4, 'x'), string.upper('a')") == ["4-x", "A"])
    }

    @Test func printGoesToTheHost() throws {
        let (lua, output) = try makeLua()
        try lua.execute("print('a', 1, 2.5, nil, true) print()")
        #expect(output.text == "a\t1\t2.5\tnil\ttrue\n\n")
        // Long lines grow the buffer between arguments.
        output.bytes.removeAll()
        try lua.execute("local parts = {} for i = 1, 300 do parts[i] = ('v'):rep(50) end print(table.unpack(parts))")
        #expect(output.text == Array(repeating: String(repeating: "v", count: 50), count: 300).joined(separator: "\t") + "\n")
    }
}
