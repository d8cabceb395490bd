import Foundation
import Marketplace
import Testing

/// The store file on disk: saves, stale writes, the lock and the audit log.
@Suite struct StoreFileTests {
    let directory: URL
    let file: JSONStoreFile
    let now: UnixTime = 1_795_253_400  // 2026-11-21T09:30:00Z

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jobrules-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        file = JSONStoreFile(path: directory.appendingPathComponent("store.json").path)
        try file.create(Store.sample(now: now))
    }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }

    func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    func auditLines() throws -> [String] {
        guard let text = try? String(contentsOfFile: file.auditPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func saveWritesTheNextRevisionAndItsAudit() throws {
        defer { cleanUp() }
        let lock = try file.lock(timeout: 1)
        defer { lock.unlock() }
        let loaded = try file.load()
        #expect(loaded.version.revision == 0)
        let store = loaded.store
        store.actor = "rule:test"
        try store.open(job: try #require(store.job("J-1001")), at: now)
        let saved = try file.save(store, over: loaded.version, audit: AuditBatch(runID: "r1", at: now, changes: store.changes))
        #expect(saved.revision == 1)
        let reloaded = try file.load()
        #expect(reloaded.version == saved)
        #expect(reloaded.store.jobs[0].status == .opened)
        #expect(try auditLines() == [
            #"{"run":"r1","revision":1,"at":"2026-11-21T09:30:00Z","actor":"rule:test","kind":"job","object":"J-1001","field":"status","old":"new","new":"opened"}"#,
            #"{"run":"r1","revision":1,"at":"2026-11-21T09:30:00Z","actor":"rule:test","kind":"job","object":"J-1001","field":"opened_at","old":null,"new":"2026-11-21T09:30:00Z"}"#,
            "",
        ])
        #expect(try entries() == ["store.json", "store.json.audit.jsonl", "store.json.lock"])
    }

    @Test func unchangedSaveKeepsTheContentAndMovesOnlyTheRevision() throws {
        defer { cleanUp() }
        let before = try String(contentsOfFile: file.path, encoding: .utf8)
        let loaded = try file.load()
        _ = try file.save(loaded.store, over: loaded.version, audit: AuditBatch(runID: "r", at: now, changes: []))
        let after = try String(contentsOfFile: file.path, encoding: .utf8)
        #expect(after == before.replacingOccurrences(of: "\"revision\": 0,", with: "\"revision\": 1,"))
    }

    @Test func aSaveOverAChangedFileIsRefused() throws {
        defer { cleanUp() }
        let mine = try file.load()  // a REPL session, say: no lock while it works
        let theirs = try file.load()
        try theirs.store.open(job: 0, at: now)
        _ = try file.save(theirs.store, over: theirs.version, audit: AuditBatch(runID: "b", at: now, changes: theirs.store.changes))
        try mine.store.tag(job: 0, "vip")
        #expect(throws: StoreError.stale(path: file.path)) {
            try file.save(mine.store, over: mine.version, audit: AuditBatch(runID: "a", at: now, changes: mine.store.changes))
        }
        #expect("\(StoreError.stale(path: "store.json"))".hasPrefix("'store.json' changed on disk since it was loaded"))
        let onDisk = try file.load()
        #expect(onDisk.version.revision == 1)
        #expect(onDisk.store.jobs[0].status == .opened)
        #expect(onDisk.store.jobs[0].tags.isEmpty)
    }

    @Test func theLockIsExclusiveAndSaysWhoHoldsIt() throws {
        defer { cleanUp() }
        let first = try file.lock(timeout: 0)
        do {
            _ = try file.lock(timeout: 0.1)
            Issue.record("locked twice")
        } catch let StoreError.locked(path, holder, _) {
            #expect(path == file.path)
            #expect(holder == "pid \(getpid())")
        }
        first.unlock()
        let second = try file.lock(timeout: 0)
        second.unlock()
    }

    static let auditLines = [
        #"{"run":"a","revision":1,"at":"2026-11-21T09:30:00Z","actor":"x","kind":"job","object":"J-1","field":"tags","old":null,"new":"a"}"#,
        #"{"run":"b","revision":2,"at":"2026-11-21T09:31:00Z","actor":"x","kind":"job","object":"J-1","field":"tags","old":"a","new":null}"#,
    ]

    /// Notes in the lock file, as a save does before appending, that revision
    /// `revision` of run `run` began appending at `offset`.
    func notePendingSave(revision: Int64, run: String, offset: Int) throws {
        let record = "pending \(revision) \(run) \(offset)"
        let line = record + String(repeating: " ", count: 127 - record.count) + "\n"
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file.lockPath))
        try handle.seek(toOffset: 64)
        handle.write(Data(line.utf8))
        try handle.close()
    }

    @Test func auditLinesOfASaveThatNeverLandedAreDropped() throws {
        defer { cleanUp() }
        let lines = Self.auditLines
        let torn = #"{"run":"b","revision":2,"at":"2026-11-21T09:31:00Z","act"#
        // A store at revision 1; the save of revision 2 appended a line and a torn one, and died.
        try (lines.joined(separator: "\n") + "\n" + torn).write(toFile: file.auditPath, atomically: false, encoding: .utf8)
        try notePendingSave(revision: 2, run: "b", offset: lines[0].utf8.count + 1)
        try file.recover(storeRevision: 1)
        #expect(try auditLines() == [lines[0], ""])
        // Done once: the record is cleared.
        try file.recover(storeRevision: 1)
        #expect(try auditLines() == [lines[0], ""])
    }

    @Test func aStoreOlderThanItsAuditLogIsRefusedAndTheLogKept() throws {
        defer { cleanUp() }
        let lines = Self.auditLines
        let text = lines.joined(separator: "\n") + "\n"
        try text.write(toFile: file.auditPath, atomically: false, encoding: .utf8)
        // No save in progress: a store at revision 1 under a log at 2 was put back from a copy.
        #expect(throws: StoreError.restored(path: file.path, storeRevision: 1, auditRevision: 2)) {
            try file.recover(storeRevision: 1)
        }
        #expect(try String(contentsOfFile: file.auditPath, encoding: .utf8) == text)
        // A record of another save doesn't make these lines its own.
        try notePendingSave(revision: 2, run: "c", offset: lines[0].utf8.count + 1)
        #expect(throws: StoreError.unfinishedSaveMixed(path: file.auditPath, revision: 2)) {
            try file.recover(storeRevision: 1)
        }
        #expect(try String(contentsOfFile: file.auditPath, encoding: .utf8) == text)
        try file.recover(storeRevision: 2)
    }

    @Test func aLineJobrulesDidNotWriteStaysAndTheNextSaveStartsANewLine() throws {
        defer { cleanUp() }
        let foreign = "a note someone added, without a newline"
        try foreign.write(toFile: file.auditPath, atomically: false, encoding: .utf8)
        let lock = try file.lock(timeout: 1)
        defer { lock.unlock() }
        let loaded = try file.load()
        try file.recover(storeRevision: loaded.version.revision)
        #expect(try auditLines() == [foreign])
        let store = loaded.store
        try store.open(job: try #require(store.job("J-1001")), at: now)
        _ = try file.save(store, over: loaded.version, audit: AuditBatch(runID: "r", at: now, changes: store.changes))
        let after = try auditLines()
        // Opening a job is two changes: its status and `opened_at`.
        #expect(after.count == 4 && after[0] == foreign && after[3] == "", "\(after)")
        #expect(after[1...2].allSatisfy { $0.hasPrefix(#"{"run":"r","revision":1,"#) })
        try file.recover(storeRevision: 1)
    }

    @Test func aSaveKilledAfterSeparatingAForeignLineLeavesItWhole() throws {
        defer { cleanUp() }
        let foreign = "a note someone added, without a newline"
        // The save noted that its lines start after the newline it added, wrote one line, and died.
        try (foreign + "\n" + Self.auditLines[0] + "\n").write(toFile: file.auditPath, atomically: false, encoding: .utf8)
        try notePendingSave(revision: 1, run: "a", offset: foreign.utf8.count + 1)
        try file.recover(storeRevision: 0)
        #expect(try auditLines() == [foreign, ""])
        try file.recover(storeRevision: 0)
        #expect(try auditLines() == [foreign, ""])
    }

    @Test func staleTemporaryFilesAreRemovedBySaving() throws {
        defer { cleanUp() }
        let stale = directory.appendingPathComponent(".store.json.tmp-99999")
        try Data("{\"half\":".utf8).write(to: stale)
        let loaded = try file.load()
        _ = try file.save(loaded.store, over: loaded.version, audit: AuditBatch(runID: "r", at: now, changes: []))
        #expect(try entries() == ["store.json", "store.json.lock"])
    }

    @Test func aFailedWriteLeavesEverythingAsItWas() throws {
        defer { cleanUp() }
        let before = try Data(contentsOf: URL(fileURLWithPath: file.path))
        let loaded = try file.load()
        try loaded.store.open(job: 0, at: now)
        // A directory where the temporary file goes: creating it fails (even for root).
        let blocker = ".store.json.tmp-\(getpid())"
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(blocker), withIntermediateDirectories: false)
        let error = #expect(throws: StoreError.self) {
            try file.save(loaded.store, over: loaded.version, audit: AuditBatch(runID: "r", at: now, changes: loaded.store.changes))
        }
        #expect(error == .io(path: directory.appendingPathComponent(blocker).path, doing: "create", errno: EEXIST))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file.path)) == before)
        #expect(try entries() == [blocker, "store.json", "store.json.lock"])
        #expect(try auditLines().isEmpty)
    }
}
