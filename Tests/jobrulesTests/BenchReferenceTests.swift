import Foundation
import Testing

/// The reference scripts of `bench/` do what the shipped rules do: on the
/// sample store and on a generated one, each leaves jobrules' outcome.
@Suite struct BenchReferenceTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool(arguments, in: Self.repository)
    }

    @Test(arguments: ["sample", "generated", "history"])
    func everyReferenceLeavesJobrulesOutcome(store kind: String) throws {
        let scratch = try Scratch()
        let jobrules = try Binary("jobrules")
        let store = scratch.url.appendingPathComponent("store.json").path
        let now = "2026-11-21T09:00:00Z"
        if kind == "sample" {
            #expect(try jobrules.run(["init", "--store", store, "--now", now]).status == 0)
        } else {
            // `history`: a store as years of use leave it, mostly closed jobs and orders.
            let history = kind == "history" ? ["--open-share", "0.05"] : []
            let made = try run(["python3", "scripts/gen-store", "--jobs", "3000", "--now", now, "-o", store] + history)
            try #require(made.status == 0, "\(made.output)")
            if kind == "history" {
                let data = try #require(FileManager.default.contents(atPath: store))
                let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                let statuses = (object["jobs"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
                let open = statuses.filter { ["new", "opened", "responded", "awaiting_response", "inactive"].contains($0) }.count
                #expect(statuses.count == 3000 && open > 60 && open < 300, "\(open) open jobs of \(statuses.count)")
            }
        }
        let checked = try run(["python3", "bench/check-outcome", store, "--now", now, "--jobrules", jobrules.url.path])
        #expect(checked.status == 0, "bench/check-outcome (its tools come from scripts/ensure-deps --bench):\n\(checked.output)")
        let lines = checked.output.split(separator: "\n").filter { !$0.hasPrefix(" ") }
        #expect(lines.count == 3)
        for name in ["python-json", "python-orjson", "lua-cjson"] {
            #expect(lines.contains { $0.hasPrefix(name) && $0.contains("same outcome as jobrules") }, "\(checked.output)")
        }
        // Not a vacuous agreement: the store had work for every rule.
        #expect(!checked.output.contains("(0 changes"), "\(checked.output)")
    }
}
