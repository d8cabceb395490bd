import Foundation
import Testing

/// The benchmark scripts that docs/performance.md shows run and print their
/// tables: small sizes, on the debug build (`JOBRULES_BIN_DIR`), with their
/// generated stores in a scratch folder. Their figures mean nothing here;
/// the test is that the documented commands work.
@Suite struct BenchScriptsTests {
    func run(_ script: String, _ arguments: [String], cache: Scratch) throws -> (status: Int32, output: String) {
        let binaries = try Binary("jobrules").url.deletingLastPathComponent().path
        return try runTool(
            ["JOBRULES_BIN_DIR=\(binaries)", "JOBRULES_BENCH_CACHE=\(cache.url.path)", "scripts/\(script)"] + arguments,
            in: BenchReferenceTests.repository)
    }

    @Test func benchComparesTheBatchWithTheReferencesAndABaseline() throws {
        let cache = try Scratch()
        let jobrules = try Binary("jobrules")
        let result = try run("bench", ["--sizes", "300", "--rounds", "1", "--micro", "2000", "--baseline", jobrules.url.path], cache: cache)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("outcome: every reference leaves jobrules' outcome on 300 jobs"), "\(result.output)")
        for name in ["python-json", "python-orjson", "lua-cjson", "baseline"] {
            #expect(result.output.split(separator: "\n").contains { $0.contains("300") && $0.contains(name) },
                    "\(name):\n\(result.output)")
        }
        #expect(result.output.contains("repl start-up to the first prompt"), "\(result.output)")
        #expect(result.output.contains("host field read"), "\(result.output)")
    }

    @Test func benchImportPrintsEachStep() throws {
        let cache = try Scratch()
        let result = try run("bench-import", ["--store-jobs", "300", "--events", "100,300", "--rounds", "1"], cache: cache)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("read") && result.output.contains("apply"), "\(result.output)")
        #expect(result.output.contains("scaling 300/100 events"), "\(result.output)")
    }

    @Test func benchStoreComparesLoadAndSaveWithOrjson() throws {
        let cache = try Scratch()
        let result = try run("bench-store", ["300", "1"], cache: cache)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ratio jobrules / orjson"), "\(result.output)")
        #expect(result.output.contains("jobrules load of the same store on one line"), "\(result.output)")
    }

    @Test func benchHostPrintsTheMicroBenchmarks() throws {
        let cache = try Scratch()
        let result = try run("bench-host", ["2000"], cache: cache)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("host field read"), "\(result.output)")
    }
}
