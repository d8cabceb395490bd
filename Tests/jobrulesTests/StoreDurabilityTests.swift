import Foundation
import Marketplace
import Testing

/// Saves under a killed writer, a file-size limit and concurrent writers.
@Suite(.serialized) struct StoreDurabilityTests {
    let jobrules: Binary
    let scratch: Scratch
    /// Far enough ahead that every new or opened job expires: a run changes about a quarter of the jobs.
    let later = "2027-01-15T00:00:00Z"

    /// An empty rules directory, for runs that apply expiry only.
    let noRules: Scratch
    /// The rules this repository ships.
    let shippedRules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("rules").path

    init() throws {
        jobrules = try Binary("jobrules")
        scratch = try Scratch()
        noRules = try Scratch()
    }

    var storePath: String { scratch.url.appendingPathComponent("store.json").path }

    /// A store from `scripts/gen-store`.
    func generate(jobs: Int) throws -> Data {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/gen-store")
        let output = scratch.url.appendingPathComponent("generated.json")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--jobs", "\(jobs)", "-o", output.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        defer { try? FileManager.default.removeItem(at: output) }
        return try Data(contentsOf: output)
    }

    func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).sorted()
    }

    func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func auditRevisions() throws -> [Int] {
        guard let text = try? String(contentsOfFile: storePath + ".audit.jsonl", encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["revision"] as? Int)
        }
    }

    func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = jobrules.url
        process.arguments = arguments
        process.currentDirectoryURL = scratch.url
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func aWriterKilledAtAnyMomentLeavesTheOldOrTheNewStore() throws {
        let original = try generate(jobs: 3000)
        let url = URL(fileURLWithPath: storePath)
        // One uninterrupted run: how long it takes and what it writes.
        try original.write(to: url)
        let clock = ContinuousClock()
        let t0 = clock.now
        #expect(try jobrules.run(["run", "--rules", shippedRules, "--store", storePath, "--now", later]).status == 0)
        let elapsed = clock.now - t0
        let duration = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let saved = try Data(contentsOf: url)
        let expectedLines = try auditRevisions().count
        #expect(expectedLines > 500)

        var rng = SystemRandomNumberGenerator()
        var outcomes: [String: Int] = [:]
        for i in 0..<30 {
            try original.write(to: url)
            try? FileManager.default.removeItem(atPath: storePath + ".audit.jsonl")
            let process = try start(["run", "--rules", shippedRules, "--store", storePath, "--now", later])
            // Anywhere from start-up to the end of the save; every other kill in the
            // last third, where the save happens.
            let from = i.isMultiple(of: 2) ? 0 : duration * 0.66
            Thread.sleep(forTimeInterval: Double.random(in: from...duration, using: &rng))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // The complete old or the complete new store, nothing else.
            let after = try Data(contentsOf: url)
            let state = after == original ? "old" : after == saved ? "new" : "torn"
            outcomes[state, default: 0] += 1
            #expect(state != "torn")
            // The next run recovers: it saves (or finds nothing to do), and cleans up.
            let next = try jobrules.run(["run", "--rules", shippedRules, "--store", storePath, "--now", later])
            #expect(next.status == 0, "\(next.stderr)")
            #expect(try Data(contentsOf: url) == saved)
            #expect(try entries() == ["store.json", "store.json.audit.jsonl", "store.json.lock"])
            // The audit log holds each change of the landed save once.
            #expect(try auditRevisions() == Array(repeating: 1, count: expectedLines))
        }
        #expect(outcomes["torn"] == nil)
        #expect(outcomes["old"] ?? 0 > 0)
    }

    @Test func aFileSizeLimitFailsTheSaveAndChangesNothing() throws {
        let original = try generate(jobs: 1000)
        try original.write(to: URL(fileURLWithPath: storePath))
        // 1024 blocks of 512 bytes: far below the store's size.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -f 1024 && exec \"$0\" \"$@\"", jobrules.url.path, "run", "--rules", noRules.url.path, "--store", storePath, "--now", later]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(message.hasPrefix("jobrules: cannot write '"))
        #expect(message.hasSuffix("': File too large\n"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == original)
        #expect(try entries() == ["store.json", "store.json.lock"])
    }

    @Test func aRunWaitsForTheLockAndBuildsOnTheOtherWritersSave() throws {
        try Store.sample(now: RFC3339.parse("2026-11-21T09:00:00Z") ?? 0).encoded().withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: storePath)) }
        let file = JSONStoreFile(path: storePath)
        let lock = try file.lock(timeout: 1)
        let waiting = try start(["run", "--rules", noRules.url.path, "--store", storePath, "--now", "2026-11-21T12:00:00Z"])
        // While the run waits: another writer tags a job and saves.
        Thread.sleep(forTimeInterval: 0.3)
        #expect(waiting.isRunning)
        let loaded = try file.load()
        try loaded.store.tag(job: 0, "vip")
        _ = try file.save(loaded.store, over: loaded.version, audit: AuditBatch(runID: "other", at: 0, changes: loaded.store.changes))
        lock.unlock()
        waiting.waitUntilExit()
        #expect(waiting.terminationStatus == 0)
        let final = try file.load().store
        #expect(final.revision == 2)
        #expect(final.jobs[0].tags.contains("vip"))
        #expect(final.jobs.contains { $0.status == .expired && $0.id == "J-1002" } == false)  // not yet due at 12:00
        #expect(final.jobs.first { $0.id == "J-1006" }?.status == .expired)
        let revisions = try auditRevisions()
        #expect(revisions.first == 1)  // the other writer's tag
        #expect(revisions.count >= 3 && revisions.dropFirst().allSatisfy { $0 == 2 })  // the run's expiries
    }

    @Test func aLockHeldTooLongIsAClearRefusal() throws {
        try Store.sample(now: 1_795_253_400).encoded().withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: storePath)) }
        let before = try Data(contentsOf: URL(fileURLWithPath: storePath))
        let lock = try JSONStoreFile(path: storePath).lock(timeout: 1)
        defer { lock.unlock() }
        let result = try jobrules.run(["run", "--rules", noRules.url.path, "--store", storePath, "--lock-timeout", "0.2"])
        #expect(result.status == 2)
        #expect(result.stderr == "jobrules: '\(storePath)' is locked by another jobrules process (held by pid \(getpid())); gave up after 0.2 s\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == before)
    }

    @Test func twoWritersAtOnceLoseNothing() throws {
        try Store.sample(now: 1_795_253_400).encoded().withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: storePath)) }
        // Two runs started together, with clocks that expire different sets of jobs.
        let a = try start(["run", "--rules", noRules.url.path, "--store", storePath, "--now", "2026-11-21T22:00:00Z"])
        let b = try start(["run", "--rules", noRules.url.path, "--store", storePath, "--now", "2026-11-22T20:00:00Z"])
        a.waitUntilExit()
        b.waitUntilExit()
        #expect(a.terminationStatus == 0)
        #expect(b.terminationStatus == 0)
        let store = try JSONStoreFile(path: storePath).load().store
        let expired = Set(store.jobs.filter { $0.status == .expired }.map(\.id))
        // Everything due by the later clock is expired, whichever ran first.
        let sample = Store.sample(now: 1_795_253_400)
        let due = Set(sample.jobs.filter { $0.status == .expired || $0.lifecycle.isDueToExpire(at: RFC3339.parse("2026-11-22T20:00:00Z") ?? 0) }.map(\.id))
        #expect(expired == due)
        let revisions = try auditRevisions()
        #expect(Set(revisions) == Set(1...Int(store.revision)))
        #expect(store.stats.expiredByService.values.reduce(0, +) == Int64(due.count))
    }
}
