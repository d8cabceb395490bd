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

    @Test func filterFieldsAndTheirValues() {
        #expect(bench.complete("jobs.where{", "st") == ["status"])
        #expect(bench.complete("jobs.count({", "") == ["assignee", "id", "merchant", "service", "source", "status", "tag", "unassigned"])
        #expect(bench.complete("jobs.where{status = \"", "awa") == ["awaiting_response"])
        #expect(bench.complete("jobs.where{status = ", "") == JobStatusNames.quoted)
        #expect(bench.complete("jobs.where{status = {\"new\", \"", "op") == ["opened"])
        #expect(bench.complete("jobs.where{unassigned = ", "") == ["false", "true"])
        #expect(bench.complete("jobs.where{assignee = \"", "") == ["m1", "m2", "m3", "m4", "m5", "m6"])
        #expect(bench.complete("jobs.where{service = \"", "s") == ["seo", "store-setup"])
        #expect(bench.complete("orders.where{", "vi") == ["view"])
        #expect(bench.complete("jobs.where{assignee = {", "ro") == ["role"])
        #expect(bench.complete("jobs.where{merchant = {", "in") == ["industry"])
        #expect(bench.complete("orders.where{view = \"", "") == ["active", "canceled", "completed", "delivered", "pending"])
        #expect(bench.complete("rule{name = \"x\", on = \"orders\", where = {", "") .contains("late"))
        #expect(bench.complete("rule{name = \"x\", where = {", "") .contains("unassigned"))
        #expect(!bench.complete("x = {", "st").contains("status"), "not a filter")
    }

    @Test func idsInsideAFunctionsStringArgument() {
        #expect(bench.complete("jobs.get(\"", "J-103") == ["J-1030"])
        // Readline breaks words at `-`: the string's text before the word counts too.
        #expect(bench.complete("jobs.get(\"J-", "103") == ["1030"])
        #expect(bench.complete("jobs.where{service = \"theme-", "cu") == ["customization"])
        #expect(bench.complete("members.get(\"", "m") == ["m1", "m2", "m3", "m4", "m5", "m6"])
        #expect(bench.complete("merchants.get('", "mer1") == ["mer1"])
        #expect(bench.complete("orders.get(\"", "O-") .count == 7)
        #expect(bench.complete("jobs.get(\"J-1001\"):assign(\"", "m") .count == 6)
        #expect(bench.complete("jobs.get(\"J-1002\"):untag(\"", "") == ["rush"] || bench.complete("jobs.get(\"J-1002\"):untag(\"", "").contains("rush"))
        #expect(bench.complete("print(\"", "J") == [], "no ids where no id goes")
    }

    @Test func stringMethodsOnStrings() {
        #expect(bench.complete("(\"abc\"):", "up") == ["upper"])
        #expect(bench.complete("jobs.get(\"J-1001\").title:", "low") == ["lower"])
        _ = try? bench.lua.execute("greeting = \"hi\"", chunkName: "=stdin")
        #expect(bench.complete("greeting:", "su") == ["sub"])
        #expect(bench.complete("greeting.", "su") == [], "a string has no fields")
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

enum JobStatusNames {
    static let quoted = ["awaiting_response", "completed", "declined", "expired", "inactive", "new", "opened", "responded"].map { "\"" + $0 + "\"" }
}
