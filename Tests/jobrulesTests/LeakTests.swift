import Foundation
import Testing

/// Memory growth measured in a process of its own (the test runner's RSS
/// moves with every other test running beside it).
@Suite struct LeakTests {
    @Test func errorRoundTripsDoNotGrowTheProcess() throws {
        let probe = try Binary("jobrules-bench")
        // 20 000 rounds of four error kinds: Swift error raised in Lua and caught
        // by the host, caught by pcall, a Lua error, an unknown field.
        let result = try probe.run(["errors", "20000"])
        #expect(result.status == 0, "\(result.stderr)")
        var figures: [String: Int] = [:]
        for pair in result.stdout.split(whereSeparator: \.isWhitespace) {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Int(parts[1]) { figures[String(parts[0])] = value }
        }
        let rssBefore = try #require(figures["rss_before"])
        let rssAfter = try #require(figures["rss_after"])
        let heapBefore = try #require(figures["heap_before"])
        let heapAfter = try #require(figures["heap_after"])
        // 80 000 round trips: a leak of even 16 bytes each would show as 1.2 MiB.
        #expect(rssAfter - rssBefore < 1 << 20, "RSS grew by \(rssAfter - rssBefore) bytes")
        #expect(heapAfter - heapBefore < 256 << 10, "Lua heap grew by \(heapAfter - heapBefore) bytes")
    }

    /// The resident size of process `pid`, in bytes.
    static func residentBytes(of pid: pid_t) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(Int(line.split(whereSeparator: \.isWhitespace)[1]))
        return kilobytes * 1024
    }

    @Test func aLongReplSessionKeepsItsSize() throws {
        let jobrules = try Binary("jobrules")
        let scratch = try Scratch()
        let now = "2026-11-21T09:30:00Z"
        try #require(try jobrules.run(["init", "--now", now], in: scratch.url).status == 0)
        let t = try PseudoTerminal(
            jobrules.url, ["repl", "--now", now], in: scratch.url,
            environment: ["TERM": "xterm-256color", "HOME": scratch.url.path, "LANG": "C.UTF-8", "INPUTRC": "/dev/null",
                          "JOBRULES_HISTORY": "", "NO_COLOR": "1"])
        try t.expect("jobrules> ")
        // Seven statements a cycle: reads, a change and its :undo, a failing
        // statement rolled back, a printed list, an error, a loop.
        // The failing statement's change is rolled back: no change is pending after it.
        func cycle(_ i: Int) throws {
            for (statement, prompt) in [
                ("j = jobs.get('J-1001')", "\njobrules> "), ("j:tag('t\(i % 50)')", "\njobrules [1 pending]> "),
                (":undo", "\njobrules> "), ("j:tag('x') error('boom \(i)')", "\njobrules> "),
                ("jobs.where{status = 'new'}", "\njobrules> "), ("nosuch.field", "\njobrules> "),
                ("local s = 0 for k = 1, 500 do s = s + k end", "\njobrules> "),
            ] {
                t.enter(statement)
                try t.expect(prompt)
            }
        }
        // Past the in-memory history's cap (1000 lines) before measuring.
        for i in 0..<200 { try cycle(i) }
        let before = try Self.residentBytes(of: t.pid)
        for i in 200..<500 { try cycle(i) }
        let after = try Self.residentBytes(of: t.pid)
        #expect(t.screen.contains("boom 499"), "every statement ran")
        // 2100 statements: a leak of even 512 bytes each would show as 1 MiB.
        #expect(after - before < 1 << 20, "RSS grew by \(after - before) bytes over 2100 statements")
        t.enter(":quit")
        #expect(try t.waitForExit() == 0)
    }

    /// memcheck's leak summary of one `run` over a generated 10k-job store.
    @Test func aRunOverA10kStoreLeaksNothing() throws {
        let jobrules = try Binary("jobrules")
        let scratch = try Scratch()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let store = scratch.url.appendingPathComponent("store.json").path
        let generated = try runTool(["python3", root.appendingPathComponent("scripts/gen-store").path, "--jobs", "10000", "-o", store], in: scratch.url)
        try #require(generated.status == 0, "\(generated.output)")
        // Valgrind 3.19 can't read the DWARF 5 debug info the toolchain writes: a copy without it.
        let binary = scratch.url.appendingPathComponent("jobrules").path
        let stripped = try runTool(["strip", "--strip-debug", "-o", binary, jobrules.url.path], in: scratch.url)
        try #require(stripped.status == 0, "\(stripped.output)")
        let result = try runTool(
            ["valgrind", "--leak-check=full", "--show-possibly-lost=no", "--undef-value-errors=no",
             "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
             binary, "run", "--rules", root.appendingPathComponent("rules").path, "--store", store, "--now", "2026-11-21T09:00:00Z"],
            in: scratch.url)
        #expect(result.status == 0, "\(result.output.suffix(4000))")
        #expect(result.output.contains("revision 0 → 1"))
        #expect(result.output.contains("definitely lost: 0 bytes in 0 blocks"), "\(result.output.suffix(4000))")
        #expect(result.output.contains("indirectly lost: 0 bytes in 0 blocks"), "\(result.output.suffix(4000))")
    }
}
