import Foundation
import Marketplace
import Testing

/// A store another program wrote — one line, or its own spacing — reads as
/// the same store as jobrules' own layout, its `messages` array found and
/// read on the second core the same way (large files only; 8 000 jobs are
/// past that size); a nested key of that name first is read correctly too.
@Suite struct StoreLayoutTests {
    @Test func aStoreInAnyLayoutReadsTheSame() throws {
        let scratch = try Scratch()
        let own = scratch.url.appendingPathComponent("own.json").path
        let made = try runTool(
            ["python3", "scripts/gen-store", "--jobs", "8000", "-o", own], in: BenchReferenceTests.repository)
        try #require(made.status == 0, "\(made.output)")
        let script = """
            import json, sys
            store = json.load(open(sys.argv[1]))
            open(sys.argv[2], "w").write(json.dumps(store, separators=(",", ":"), ensure_ascii=False))
            open(sys.argv[3], "w").write(json.dumps(store, separators=(" , ", " : "), ensure_ascii=False))
            store["agency"]["x-history"] = {"messages": [1, 2, 3]}  # a nested key of that name, before the real one
            open(sys.argv[4], "w").write(json.dumps(store, separators=(",", ":"), ensure_ascii=False))
            """
        let names = ["one-line.json", "spaced.json", "decoy.json"]
        let paths = names.map { scratch.url.appendingPathComponent($0).path }
        let converted = try runTool(["python3", "-c", script, own] + paths, in: scratch.url)
        try #require(converted.status == 0, "\(converted.output)")
        let reference = try JSONStoreFile(path: own).load().store
        #expect(try FileManager.default.attributesOfItem(atPath: paths[0])[.size] as? Int ?? 0 > 16 << 20, "past the size read on two cores")
        for path in paths {
            let store = try JSONStoreFile(path: path).load().store
            #expect(store.messages.count == reference.messages.count, "\(path)")
            #expect(store.jobs.count == reference.jobs.count, "\(path)")
            #expect(store.messages.map(\.id) == reference.messages.map(\.id), "\(path)")
            #expect(store.messages.map(\.job) == reference.messages.map(\.job), "\(path)")
            #expect(store.messages.last?.body.string == reference.messages.last?.body.string, "\(path)")
            #expect(store.lastMessage(ofJob: 0) == reference.lastMessage(ofJob: 0), "\(path)")
        }
    }
}
