import Foundation
import Marketplace
import Testing

/// Random feeds made from the sample feed's lines (`Store.sampleEvents`), edited as the store's
/// corpus edits the store: each line is refused with a reason or applied, the
/// store that comes out writes itself and reads back, and nothing traps.
/// Seeded: JOBRULES_FUZZ_SEED and JOBRULES_FUZZ_ITERATIONS repeat or extend a run.
@Suite struct ImportFuzzTests {
    static let now: UnixTime = 1_795_253_400  // 2026-11-21T09:30:00Z

    /// The sample feed `jobrules init` writes for the sample store at `now`.
    static var sampleLines: [[UInt8]] {
        Store.sampleEvents(now: now).split(separator: "\n").map { Array($0.utf8) }
    }

    /// Odd values a feed could put anywhere.
    static let oddValues: [JSON] = [
        .number("9223372036854775807"), .number("-1"), .number("1e308"), .number("0.5"), .string(""), .null, .bool(false),
        .string("\u{1B}[2J"), .string("a\u{0}b"), .string("\u{9B}x"), .string(String(repeating: "x", count: (1 << 20) + 1)),
        .string("0000-12-30T00:00:00Z"), .string("9999-12-31T23:59:59Z"), .string("1970-01-01T00:00:00Z"), .string("not-an-email"),
        .string("J-1013"), .string("O-1"), .string("mk-7002"), .object([]), .array([]),
    ]

    @Test func randomFeedsAreRefusedWithAReasonOrAppliedWhole() throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["JOBRULES_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_130
        let iterations = environment["JOBRULES_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 600
        var rng = SplitMix64(seed: seed)
        let lines = Self.sampleLines
        try #require(lines.count >= 9)
        let trees = try lines.map { try JSON.parse($0) }
        var applied = 0, refused = 0
        for iteration in 0..<iterations {
            var feed: [[UInt8]] = []
            var edits: [String] = []
            for _ in 0..<Int.random(in: 1...5, using: &rng) {
                let k = Int.random(in: 0..<lines.count, using: &rng)
                let (name, line) = Self.edit(lines[k], tree: trees[k], rng: &rng)
                edits.append("line \(feed.count + 1) from \(k + 1): \(name)")
                // Now and then the line as it was first, its id then coming back with other content.
                if Int.random(in: 0..<6, using: &rng) == 0 {
                    edits.append("line \(feed.count + 1) from \(k + 1) unchanged before it")
                    feed.append(lines[k])
                }
                feed.append(line)
            }
            let what = "seed \(seed), iteration \(iteration): \(edits.joined(separator: "; "))"
            let bytes = Array(feed.joined(separator: [0x0A]))
            let store = Store.sample(now: Self.now - 1800)
            store.expireDueJobs(at: Self.now)
            let outcome = store.apply(ImportFeed.read(SourceBytes.copying(bytes), count: bytes.count))
            if outcome.problems.isEmpty {
                applied += 1
                let written = store.encoded()
                guard case .accepted(let again) = StoreCorpusTests.decode(written) else {
                    Issue.record("\(what): the store after the feed wrote what it can't read")
                    continue
                }
                #expect(again.appliedEvents == store.appliedEvents && again.encoded() == written, "\(what)")
            } else {
                refused += 1
                let lineCount = bytes.filter { $0 == 0x0A }.count + 1
                #expect(outcome.problems.allSatisfy { !$0.message.isEmpty && $0.line >= 1 && $0.line <= lineCount }, "\(what)")
            }
        }
        #expect(applied > 0 && refused > iterations / 4, "applied \(applied), refused \(refused)")
    }

    /// One edit of one line: of its bytes, or of one of its values.
    static func edit(_ bytes: [UInt8], tree: JSON, rng: inout SplitMix64) -> (String, [UInt8]) {
        var paths: [(String, JSON)] = []
        tree.walk { path, _, value in paths.append((path, value)) }
        let (path, _) = paths[Int.random(in: 0..<paths.count, using: &rng)]
        let at = Int.random(in: 0..<bytes.count, using: &rng)
        var out = bytes
        switch Int.random(in: 0..<8, using: &rng) {
        case 0:
            return ("unchanged", bytes)
        case 1:
            out[at] = UInt8.random(in: 0...255, using: &rng)
            return ("byte \(at) changed", out)
        case 2:
            return ("cut at \(at)", Array(bytes.prefix(at)))
        case 3:
            let value = oddValues[Int.random(in: 0..<oddValues.count, using: &rng)]
            return ("\(path) = \(value.text.prefix(24))", Array(tree.replacing(path, with: value).text.utf8))
        case 4:
            let edge = StoreCorpusTests.edgeNumbers[Int.random(in: 0..<StoreCorpusTests.edgeNumbers.count, using: &rng)]
            return ("\(path) = \(edge)", Array(tree.replacing(path, with: .number(edge)).text.utf8))
        case 5:
            let edge = StoreCorpusTests.edgeTimes[Int.random(in: 0..<StoreCorpusTests.edgeTimes.count, using: &rng)]
            return ("\(path) = \(edge)", Array(tree.replacing(path, with: .string(edge)).text.utf8))
        case 6:
            // The same event id, other content.
            return ("\(path) changed, the id kept", Array(tree.replacing(path, with: .string("changed")).text.utf8))
        default:
            out.insert(contentsOf: bytes[at..<min(bytes.count, at + 16)], at: at)
            return ("bytes repeated at \(at)", out)
        }
    }
}
