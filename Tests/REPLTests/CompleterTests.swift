import LuaHost
import Testing
@testable import REPL

@Suite struct CompleterTests {
    let bench: Bench

    init() throws { bench = try Bench() }

    @Test func globalsAndKeywords() {
        #expect(bench.complete("", "jo") == ["jobs"])
        #expect(bench.complete("x = ", "fu") == ["function"])
        #expect(bench.complete("", "no").contains("notify"))
        #expect(bench.complete("", "no").contains("now"))
        #expect(bench.complete("", "no").contains("not"))
        _ = try? bench.lua.execute("my_counter = 1", chunkName: "=stdin")
        #expect(bench.complete("print(", "my_") == ["my_counter"])
    }

    @Test func tableKeysThroughReadOnlyNamespaces() {
        #expect(bench.complete("jobs.", "co") == ["count"])
        #expect(bench.complete("jobs.") == ["count", "each", "get", "search", "where"])
        #expect(bench.complete("x = time.", "") == ["iso", "parse"])
        #expect(bench.complete("jobs:", "") == ["count", "each", "get", "search", "where"])
        _ = try? bench.lua.execute("settings = {limit = 3, nested = {deep = true}}", chunkName: "=stdin")
        #expect(bench.complete("settings.") == ["limit", "nested"])
        #expect(bench.complete("settings.nested.") == ["deep"])
        #expect(bench.complete("settings[\"nested\"].") == ["deep"])
    }

    @Test func objectFieldsAfterDotAndMethodsAfterColonThroughCalls() {
        #expect(bench.complete("jobs.get(\"J-5\"):", "de") == ["decline"])
        #expect(bench.complete("jobs.get(\"J-5\").", "me") == ["merchant", "messages"])
        #expect(bench.complete("jobs.get(\"J-5\").merchant.", "dr") == ["dropshipper"])
        #expect(bench.complete("jobs.where{status = \"new\"}[1]:", "as") == ["assign"])
        #expect(bench.complete("orders.get('O-1'):", "re") == ["request_extension"])
        #expect(bench.complete("agency.", "") == ["name", "offers", "preferences", "services", "set_preference"])
        _ = try? bench.lua.execute("j = jobs.get('J-1001')", chunkName: "=stdin")
        #expect(bench.complete("j.assignees[1].", "na") == ["name"])
        #expect(bench.complete("j:", "un") == ["unassign", "untag"])
        #expect(bench.complete("print(j.merchant.", "") == ["country", "dropshipper", "email", "id", "industry", "name", "store"])
    }

    @Test func nothingInsideStringsCommentsOrUnknownValues() {
        #expect(bench.complete("print(\"jobs.", "co") == [])
        #expect(bench.complete("-- jobs.", "co") == [])
        #expect(bench.complete("nothing_here.", "") == [])
        #expect(bench.complete("(1 + 2).", "") == [])
        #expect(bench.complete("x = a .. jobs.", "co") == ["count"])
    }

    @Test func noUserCodeNoMetamethodRuns() throws {
        try bench.lua.execute(
            """
            calls = 0
            lazy = setmetatable({}, {__index = function(_, k) calls = calls + 1; return {field = 1} end})
            function make() calls = calls + 1; return {field = 1} end
            """, chunkName: "=stdin")
        #expect(bench.complete("lazy.") == [])
        #expect(bench.complete("lazy.thing.") == [])
        #expect(bench.complete("make().") == [])
        #expect(try bench.lua.global("calls") == .integer(0))
    }
}
