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
}
