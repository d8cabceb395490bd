import Foundation
import Testing

@Suite struct ExecCommandTests {
    let jobrules: Binary
    let scratch: Scratch

    init() throws {
        jobrules = try Binary("jobrules")
        scratch = try Scratch()
        // A store without jobs: nothing expires, so nothing is saved or reported.
        var store = validStore
        for key in ["jobs", "messages"] {
            let start = try #require(store.range(of: "  \"\(key)\": ["))
            let end = try #require(store.range(of: "\n  ],", range: start.upperBound..<store.endIndex))
            store.replaceSubrange(start.lowerBound..<end.upperBound, with: "  \"\(key)\": [],")
        }
        try scratch.write("store.json", store)
    }

    @Test func runsAScriptAndPrints() throws {
        try scratch.write("ok.lua", "print('hello', 1 + 1, 2.5, nil)\nprint(#string.rep('ab', 3))")
        let result = try jobrules.run(["exec", "ok.lua"], in: scratch.url)
        #expect(result.status == 0)
        #expect(result.stdout == "hello\t2\t2.5\tnil\n6\n")
        #expect(result.stderr == "")
    }

    @Test func scriptErrorExitsOneWithPositionAndTraceback() throws {
        try scratch.write("bad.lua", "local function check(x)\n  if x > 1 then error('too big: ' .. x) end\nend\nprint('before')\ncheck(5)\n")
        let result = try jobrules.run(["exec", "bad.lua"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stdout == "before\n")
        #expect(
            result.stderr == """
                jobrules: bad.lua:2: too big: 5
                stack traceback:
                \t[C]: in function 'error'
                \tbad.lua:2: in local 'check'
                \tbad.lua:5: in main chunk

                """)
    }

    @Test func syntaxErrorExitsOne() throws {
        try scratch.write("syntax.lua", "local x = \n")
        let result = try jobrules.run(["exec", "syntax.lua"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr == "jobrules: syntax.lua:2: unexpected symbol near <eof>\n")
    }

    @Test func missingScriptIsAUsageError() throws {
        let result = try jobrules.run(["exec", "nope.lua"], in: scratch.url)
        #expect(result.status == 2)
        #expect(result.stderr == "jobrules: cannot read 'nope.lua': No such file or directory\n")
        #expect(result.stdout == "")
    }

    @Test func badArgumentsAreUsageErrors() throws {
        let noScript = try jobrules.run(["exec"], in: scratch.url)
        #expect(noScript.status == 2)
        #expect(noScript.stderr.contains("give a script (SCRIPT.lua, or - for standard input) or -e 'LUA'"))
        try scratch.write("ok.lua", "")
        let badTimeout = try jobrules.run(["exec", "ok.lua", "--timeout", "soon"], in: scratch.url)
        #expect(badTimeout.status == 2)
        #expect(badTimeout.stderr.contains("invalid --timeout 'soon'"))
        let badMemory = try jobrules.run(["exec", "ok.lua", "--memory-limit", "lots"], in: scratch.url)
        #expect(badMemory.status == 2)
        #expect(badMemory.stderr.contains("invalid --memory-limit 'lots'"))
        let unknown = try jobrules.run(["frobnicate"], in: scratch.url)
        #expect(unknown.status == 2)
    }

    @Test func helpExitsZero() throws {
        let result = try jobrules.run(["exec", "--help"], in: scratch.url)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: jobrules exec [<SCRIPT.lua|->] [-e <LUA>]"))
        #expect(result.stdout.contains("--memory-limit <SIZE>"))
    }

    @Test func endlessLoopStopsAtTheTimeout() throws {
        try scratch.write("loop.lua", "local n = 0\nwhile true do n = n + 1 end\n")
        let start = Date()
        let result = try jobrules.run(["exec", "loop.lua", "--timeout", "500ms"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("jobrules: loop.lua:2: time limit exceeded (0.5 s)\n"))
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func pcallCannotSwallowTheTimeout() throws {
        try scratch.write("loop.lua", "for i = 1, 1e9 do pcall(function() while true do end end) end\nprint('escaped')\n")
        let result = try jobrules.run(["exec", "loop.lua", "--timeout", "300ms"], in: scratch.url)
        #expect(result.status == 1)
        #expect(!result.stdout.contains("escaped"))
        #expect(result.stderr.contains("time limit exceeded (0.3 s)"))
    }

    @Test func memoryBombsStopAtTheLimit() throws {
        try scratch.write("fill.lua", "local t = {}\nlocal i = 0\nwhile true do i = i + 1 t[i] = {i, tostring(i)} end\n")
        let fill = try jobrules.run(["exec", "fill.lua", "--memory-limit", "64M"], in: scratch.url)
        #expect(fill.status == 1)
        #expect(fill.stderr.hasPrefix("jobrules: fill.lua:3: memory limit exceeded (64 MiB)"))

        try scratch.write("rep.lua", "print(pcall(string.rep, 'x', 2^30))\nprint('escaped')\n")
        let rep = try jobrules.run(["exec", "rep.lua", "--memory-limit", "64M"], in: scratch.url)
        #expect(rep.status == 1)
        #expect(!rep.stdout.contains("escaped"))
        #expect(rep.stderr.hasPrefix("jobrules: rep.lua:1: memory limit exceeded (64 MiB)"))

        try scratch.write("huge.lua", "local s = string.rep('x', 2^40)\n")
        let huge = try jobrules.run(["exec", "huge.lua"], in: scratch.url)
        #expect(huge.status == 1)
        #expect(huge.stderr.hasPrefix("jobrules: huge.lua:1: resulting string too large"))
    }

    @Test func sandboxHoldsInTheBinary() throws {
        try scratch.write(
            "escape.lua",
            """
            assert(io == nil and os.execute == nil and require == nil and debug == nil)
            assert(string.dump == nil and dofile == nil and loadfile == nil)
            assert(load("\\27Lua", "b", "b") == nil)
            print(pcall(function() string = nil end))
            """)
        let result = try jobrules.run(["exec", "escape.lua"], in: scratch.url)
        #expect(result.status == 0)
        #expect(result.stdout == "false\tescape.lua:4: cannot assign to 'string': it is a read-only global\n")
    }
}
