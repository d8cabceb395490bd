import LuaHost
import Testing
@testable import REPL

@Suite struct ValuePrinterTests {
    let bench: Bench

    init() throws { bench = try Bench() }

    @Test func scalarsAsLuaWritesThem() throws {
        #expect(try bench.show("nil") == "nil")
        #expect(try bench.show("true") == "true")
        #expect(try bench.show("42") == "42")
        #expect(try bench.show("1.0") == "1.0")
        let infinity = try bench.show("1e308 * 10")
        #expect(infinity == "inf")
        #expect(try bench.show("0.1") == "0.1")
        #expect(try bench.show(#""say \"hi\"\n\tbye""#) == #""say \"hi\"\n\tbye""#)
        #expect(try bench.show(#""\0\255""#) == #""\0\255""#)
        #expect(try bench.show(#""café""#) == #""café""#)
    }

    @Test func tablesSequenceFirstThenSortedKeysCompactWhenTheyFit() throws {
        #expect(try bench.show("{}") == "{}")
        #expect(try bench.show("{3, 2, 1}") == "{3, 2, 1}")
        let mixed = try bench.show(#"{b = 2, a = 1, 10, [5] = "five", ["two words"] = true, [1.5] = 0}"#)
        #expect(mixed == #"{10, [1.5] = 0, [5] = "five", a = 1, b = 2, ["two words"] = true}"#)
        #expect(try bench.show(#"{["end"] = 1, _x = 2}"#) == #"{_x = 2, ["end"] = 1}"#)
        let wide = try bench.show("{string.rep('a', 60), string.rep('b', 60)}")
        #expect(wide == "{\n  \"\(String(repeating: "a", count: 60))\",\n  \"\(String(repeating: "b", count: 60))\"\n}")
    }

    @Test func cyclesDepthAndWidthAreCut() throws {
        #expect(try bench.show("(function() local t = {name = 'loop'}; t.self = t; return t end)()")
            == #"{name = "loop", self = <cycle>}"#)
        #expect(try bench.show("{1, {2, {3, {4, {5}}}}}") == "{1, {2, {3, {… 2 entries}}}}")
        let long = try bench.show("(function() local t = {} for i = 1, 100 do t[i] = i end return t end)()")
        #expect(long.contains("39,\n  40,\n  … (60 more)\n}"))
        let text = try bench.show("{string.rep('x', 200)}")
        #expect(text.contains(String(repeating: "x", count: 80) + "…\""))
        #expect(!text.contains(String(repeating: "x", count: 81)))
    }

    @Test func functionsSayWhereTheyCameFrom() throws {
        #expect(try bench.show("print") == "function: builtin")
        #expect(try bench.show("jobs.get") == "function: builtin")
        try bench.lua.execute("function greet() end", chunkName: "=stdin")
        #expect(try bench.show("greet") == "function <stdin:1>")
    }

    @Test func hostObjectsAsSummariesAndNamespacesThroughTheirProxy() throws {
        let job = try bench.show("jobs.get('J-1001')")
        #expect(job == "Job J-1001 [new] theme-customization · Maple Goods · 0 messages · 70h left")
        #expect(try bench.show("members.get('m6')") == "Member m6 Farah Novak (member, inactive) · 0 open jobs")
        #expect(try bench.show("{jobs.get('J-1001').merchant}") == "{Merchant mer1 Maple Goods}")
        #expect(try bench.show("time") == "{iso = function: builtin, parse = function: builtin}")
    }

    @Test func printingRunsNoMetamethod() throws {
        try bench.lua.execute(
            "touched = false; t = setmetatable({1}, {__index = function() touched = true end, __tostring = function() touched = true; return 'x' end, __pairs = function() touched = true end})",
            chunkName: "=stdin")
        #expect(try bench.show("t") == "{1}")
        #expect(try bench.lua.global("touched") == .boolean(false))
    }
}
