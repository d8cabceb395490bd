import Foundation
import Marketplace
import Testing

/// Saves under a killed writer and concurrent writers (write failures: WriteFailureTests).
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

    func auditRevisions() throws -> [Int] { try auditLines().map(\.revision) }

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

    /// Audit lines as (revision, run id).
    func auditLines() throws -> [(revision: Int, run: String)] {
        guard let text = try? String(contentsOfFile: storePath + ".audit.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let revision = object["revision"] as? Int, let run = object["run"] as? String
            else { return nil }
            return (revision, run)
        }
    }

    @Test func aWriterKilledAtAnyMomentLeavesTheOldOrTheNewStore() throws {
        let original = try generate(jobs: 3000)
        let url = URL(fileURLWithPath: storePath)
        let arguments = ["run", "--rules", shippedRules, "--store", storePath, "--now", "2026-11-21T09:00:00Z"]
        // One uninterrupted run: how long each step takes and what it writes.
        try original.write(to: url)
        let clock = ContinuousClock()
        let t0 = clock.now
        let first = try jobrules.run(arguments + ["--json"])
        let elapsed = clock.now - t0
        #expect(first.status == 0, "\(first.stderr)")
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let report = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        let steps = try #require(report["seconds"] as? [String: Double])
        let load = try #require(steps["load"]), rules = try #require(steps["rules"]), save = try #require(steps["save"])
        let saved = try Data(contentsOf: url)
        let expectedLines = try auditLines().count
        #expect(expectedLines > 1000)
        // The windows of loading and of the rules, from the process's start (start-up
        // before them); the save's starts when its temporary file appears.
        let startUp = max(0, wall - load - rules - save)
        let windows = [(startUp, startUp + load), (startUp + load, startUp + load + rules)]

        var rng = SystemRandomNumberGenerator()
        var outcomes: [String: Int] = [:]
        for i in 0..<51 {
            try original.write(to: url)
            try? FileManager.default.removeItem(atPath: storePath + ".audit.jsonl")
            let process = try start(arguments)
            if i % 3 == 2 {
                // The save: from the moment its temporary file appears (a loaded
                // machine shifts the measured windows), a random part of its length.
                let temporary = scratch.url.appendingPathComponent(".store.json.tmp-\(process.processIdentifier)").path
                while process.isRunning, !FileManager.default.fileExists(atPath: temporary) { usleep(200) }
                Thread.sleep(forTimeInterval: Double.random(in: 0...save, using: &rng))
            } else {
                let (from, to) = windows[i % 3]
                Thread.sleep(forTimeInterval: Double.random(in: from...to, using: &rng))
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // The complete old or the complete new store, nothing else.
            let after = try Data(contentsOf: url)
            let state = after == original ? "old" : after == saved ? "new" : "torn"
            #expect(state != "torn")
            // The audit log as documented: with the new store, each of its changes once;
            // with the old one, nothing, or lines of a save that never landed (revision 1).
            let lines = try auditLines()
            if state == "new" {
                #expect(lines.count == expectedLines && lines.allSatisfy { $0.revision == 1 })
                outcomes["new", default: 0] += 1
            } else {
                #expect(lines.allSatisfy { $0.revision == 1 } && lines.count <= expectedLines)
                let leftovers = try entries().contains { $0.hasPrefix(".store.json.tmp-") } || !lines.isEmpty
                outcomes[leftovers ? "old, save under way" : "old", default: 0] += 1
            }
            // The next run recovers: it saves the same outcome, and cleans up.
            let next = try jobrules.run(arguments)
            #expect(next.status == 0, "\(next.stderr)")
            #expect(try Data(contentsOf: url) == saved)
            #expect(try entries() == ["store.json", "store.json.audit.jsonl", "store.json.lock"])
            // The audit log holds each change of the landed save once, from one run.
            let final = try auditLines()
            #expect(final.count == expectedLines && final.allSatisfy { $0.revision == 1 })
            #expect(Set(final.map(\.run)).count == 1)
        }
        #expect(outcomes["old", default: 0] > 0, "\(outcomes)")
        #expect(outcomes["old, save under way", default: 0] > 0, "\(outcomes)")
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

    /// Ten runs started at once, run `k` tagging `run-k` on the jobs whose number ends in `k`.
    func tenRunsAtOnce(lockTimeout: String) throws -> (statuses: [Int32], errors: [String]) {
        try generate(jobs: 1000).write(to: URL(fileURLWithPath: storePath))
        let runs = try (0..<10).map { k in
            let rule = try scratch.write("tag-\(k).lua", """
                rule{name = "tag-\(k)", on = "jobs",
                     where = function(job) return job.status ~= "expired" and tonumber(job.id:sub(3)) % 10 == \(k) end,
                     run = function(job) job:tag("run-\(k)") end}
                """)
            let process = Process()
            process.executableURL = jobrules.url
            process.arguments = ["run", "--rules", rule.path, "--store", storePath, "--now", "2026-11-21T09:00:00Z", "--lock-timeout", lockTimeout]
            process.currentDirectoryURL = scratch.url
            process.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            process.standardError = err
            return (process, err)
        }
        for (process, _) in runs { try process.run() }
        var statuses: [Int32] = [], errors: [String] = []
        for (process, err) in runs {
            errors.append(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            process.waitUntilExit()
            statuses.append(process.terminationStatus)
        }
        return (statuses, errors)
    }

    /// Every saved run's tags on all of its jobs, a refused run's on none; one revision per saved run.
    func checkTenRuns(saved: Set<Int>) throws {
        let store = try JSONStoreFile(path: storePath).load().store
        for job in store.jobs where job.status != .expired {
            let k = (Int(job.id.dropFirst(2)) ?? -1) % 10
            let tags = Set(job.tags.filter { $0.hasPrefix("run-") })
            #expect(tags == (saved.contains(k) ? ["run-\(k)"] : []), "\(job.id): \(tags)")
        }
        #expect(store.revision == Int64(saved.count))
        // Each revision in the audit log once, as one block, from one run.
        let lines = try auditLines()
        #expect(lines.map(\.revision) == lines.map(\.revision).sorted())
        #expect(Set(lines.map(\.revision)) == Set(1...saved.count))
        for revision in 1...saved.count {
            #expect(Set(lines.filter { $0.revision == revision }.map(\.run)).count == 1)
        }
    }

    @Test func tenRunsAtOnceEachLandWhole() throws {
        let (statuses, errors) = try tenRunsAtOnce(lockTimeout: "60")
        #expect(statuses == Array(repeating: 0, count: 10), "\(errors)")
        try checkTenRuns(saved: Set(0..<10))
    }

    @Test func tenRunsAtOnceWithAShortLockTimeoutLandWholeOrNotAtAll() throws {
        let (statuses, errors) = try tenRunsAtOnce(lockTimeout: "0.05")
        let saved = Set((0..<10).filter { statuses[$0] == 0 })
        #expect(!saved.isEmpty)
        for k in 0..<10 where statuses[k] != 0 {
            #expect(statuses[k] == 2)
            #expect(errors[k].contains("is locked by another jobrules process (held by pid "), "\(errors[k])")
            #expect(errors[k].contains(try Regex("; gave up after [0-9.]+ s\n$")), "\(errors[k])")
        }
        try checkTenRuns(saved: saved)
        #expect(try entries().filter { $0.contains(".tmp-") }.isEmpty)
    }

    /// Batch commands map the store file. One that another program cuts short
    /// in place while it is mapped stops the command with exit 2 and nothing
    /// written, never a bus error: emptied, every byte read is the guard's (its
    /// message, exactly); cut to 1000 bytes, what the reader already passed may
    /// also end it as invalid JSON (the cut page reads as zeros).
    @Test func aStoreCutShortInPlaceWhileMappedIsAClearError() throws {
        let script = try scratch.write("slow.lua", """
            local t = os.clock()
            while os.clock() - t < 1 do end
            local n = 0
            for _, job in ipairs(jobs.where{}) do n = n + #job.details end
            print(n)
            """)
        let guardMessage = "jobrules: '\(storePath)' was cut short on disk while it was being read (another program wrote over it "
            + "in place): nothing was saved; replace store files with a rename (mv), never in place, and run again\n"
        for size in [0, 1000] {
            try generate(jobs: 2000).write(to: URL(fileURLWithPath: storePath))
            let process = Process()
            process.executableURL = jobrules.url
            process.arguments = ["exec", script.path, "--store", storePath, "--timeout", "60s"]
            let err = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = err
            try process.run()
            // Once the file is in the process's mappings, it is being read.
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let maps = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/maps", encoding: .utf8)) ?? ""
                if maps.contains(storePath) { break }
                usleep(1000)
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: storePath))
            try handle.truncate(atOffset: UInt64(size))
            try handle.close()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit)
            #expect(process.terminationStatus == 2)
            if size == 0 {
                #expect(message == guardMessage)
            } else {
                #expect(message == guardMessage || message.hasPrefix("jobrules: \(storePath):") && message.contains(": invalid JSON: "), "\(message)")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)).count == size)
            #expect(try entries() == ["slow.lua", "store.json", "store.json.lock"])
        }
    }
}
