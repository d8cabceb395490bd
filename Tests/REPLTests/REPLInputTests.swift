import LuaHost
import Marketplace
import Testing
@testable import REPL

@Suite struct REPLInputTests {
    let bench: Bench

    init() throws { bench = try Bench() }

    @Test func expressionsAreReturnedStatementsRunAndIncompleteInputWaits() {
        let repl = bench.repl
        #expect(repl.chunk(for: "1 + 1") == "return 1 + 1")
        #expect(repl.chunk(for: "=jobs.count{}") == "return jobs.count{}")
        #expect(repl.chunk(for: "x = 1") == "x = 1")
        #expect(repl.chunk(for: "print('a')") == "return print('a')")
        #expect(repl.chunk(for: "for i = 1, 2 do") == nil)
        #expect(repl.chunk(for: "for i = 1, 2 do\nprint(i)") == nil)
        #expect(repl.chunk(for: "for i = 1, 2 do\nprint(i)\nend") == "for i = 1, 2 do\nprint(i)\nend")
        #expect(repl.chunk(for: "s = [[one") == nil)
        // A real syntax error is run, so that it is reported.
        #expect(repl.chunk(for: "x = = 1") == "x = = 1")
    }

    @Test func eachStatementIsOneStepThatAnErrorRollsBack() throws {
        let repl = bench.repl
        let before = repl.store.changes.count
        #expect(repl.run(Array("jobs.get('J-1001'):tag('a'); error('boom')".utf8), label: "x") == false)
        #expect(repl.store.changes.count == before)
        #expect(repl.run(Array("jobs.get('J-1001'):tag('a')".utf8), label: "tag a"))
        #expect(repl.run(Array("jobs.get('J-1001'):tag('b')".utf8), label: "tag b"))
        #expect(repl.store.changes.count == before + 2)
        repl.undo()
        #expect(repl.store.changes.count == before + 1)
        #expect(try bench.lua.execute("return jobs.get('J-1001'):has_tag('a'), jobs.get('J-1001'):has_tag('b')")
            == [.boolean(true), .boolean(false)])
    }

    @Test func theReferenceCoversEveryGlobalAndMethod() throws {
        let reference = APIReference.shipped
        for name in try bench.lua.globalNames() where !["arg"].contains(name) {
            // Namespaces are documented by their functions; everything else by name.
            let documented = !reference.entries(matching: name).isEmpty
                || reference.entries.contains { $0.name.hasPrefix(name + ".") }
            let isSandboxed = ["assert", "error", "ipairs", "math", "next", "pairs", "pcall", "print", "rawequal", "rawget",
                "rawlen", "rawset", "select", "setmetatable", "getmetatable", "string", "table", "tonumber", "tostring",
                "type", "utf8", "xpcall", "coroutine", "os", "_G", "_VERSION", "collectgarbage", "load"].contains(name)
            #expect(documented || isSandboxed, "no reference for global \(name)")
        }
        for namespace in ["jobs", "orders", "members", "merchants", "contacts", "outbox", "time"] {
            let functions = bench.complete("\(namespace).")
            for function in functions {
                #expect(reference.returnType("\(namespace).\(function)") != nil || !reference.entries(matching: "\(namespace).\(function)").isEmpty,
                        "no reference for \(namespace).\(function)")
            }
        }
        for type in ["Job", "Order", "Member", "Merchant", "Message", "Contact", "Email", "Agency"] {
            let info = try #require(bench.lua.objectInfo(typeName: type))
            let documented = try #require(reference.objectClass(type))
            #expect(Set(documented.fields.map(\.name)) == Set(info.fields), "fields of \(type)")
            for method in info.methods {
                let entry = reference.entries(matching: "\(type):\(method)").first
                #expect(entry != nil, "no reference for \(type):\(method)")
                #expect(entry?.examples.isEmpty == false, "no example for \(type):\(method)")
            }
        }
        for entry in reference.entries where entry.signature.contains("(") {
            #expect(!entry.summary.isEmpty, "\(entry.name) has no description")
            #expect(!entry.examples.isEmpty, "\(entry.name) has no example")
        }
    }
}
