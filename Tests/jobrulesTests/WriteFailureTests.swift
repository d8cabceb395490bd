import Foundation
import Marketplace
import Testing

/// A run whose save can't be written: a clear error, exit 2, the store and its
/// audit log as they were, no temporary file left; the next run succeeds.
///
/// Permissions are tested as an unprivileged user: as root (CI), the run
/// drops to `nobody` with setpriv, from a copy of the binary it can read.
@Suite(.serialized) struct WriteFailureTests {
    let jobrules: Binary
    let scratch: Scratch
    let binaries: Scratch
    let storeDirectory: URL
    let now = "2026-11-24T09:00:00Z"  // the sample's due jobs expire: a run has changes to save

    init() throws {
        jobrules = try Binary("jobrules")
        scratch = try Scratch()
        binaries = try Scratch()
        storeDirectory = scratch.url.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: storeDirectory, withIntermediateDirectories: true)
        let made = try jobrules.run(["init", "--now", "2026-11-21T09:00:00Z", "--store", storePath, "--no-rules", "--no-events"])
        try #require(made.status == 0, "\(made.stderr)")
        for url in [scratch.url, storeDirectory, binaries.url] {
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: url.path)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: storePath)
        try? FileManager.default.removeItem(atPath: storePath + ".lock")
    }

    var storePath: String { storeDirectory.appendingPathComponent("store.json").path }
    var auditPath: String { storePath + ".audit.jsonl" }

    /// The binary as an unprivileged user: `nobody` when the tests run as root.
    func runUnprivileged(_ arguments: [String], shellPrefix: String? = nil) throws -> Binary.Result {
        var command = arguments
        if getuid() == 0 {
            let copy = binaries.url.appendingPathComponent("jobrules")
            if !FileManager.default.fileExists(atPath: copy.path) {
                try FileManager.default.copyItem(at: jobrules.url, to: copy)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy.path)
            }
            command = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", copy.path] + command
        } else {
            command = [jobrules.url.path] + command
        }
        if let shellPrefix {
            command = ["/bin/sh", "-c", shellPrefix + " && exec \"$@\"", "sh"] + command
        }
        return try Binary(path: command[0]).run(Array(command.dropFirst()), in: scratch.url)
    }

    var runArguments: [String] { ["run", "--rules", shippedRules, "--store", storePath, "--now", now] }
    let shippedRules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("rules").path

    /// Every file of the store's directory with its bytes, but the lock file
    /// (a run makes it and writes its pid there; it stays).
    func snapshot() throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: storeDirectory.path) where name != "store.json.lock" {
            let path = storeDirectory.appendingPathComponent(name).path
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            files[name] = isDirectory.boolValue ? Data("directory".utf8) : (FileManager.default.contents(atPath: path) ?? Data("unreadable".utf8))
        }
        return files
    }

    func chmod(_ path: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// The run fails with `message` (PID standing for any process id), exit 2,
    /// and leaves every file as it was.
    func expectRefusedWrite(_ message: String, shellPrefix: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try snapshot()
        let result = try runUnprivileged(runArguments, shellPrefix: shellPrefix)
        #expect(result.status == 2, "\(result.stderr)", sourceLocation: sourceLocation)
        let pattern = "^jobrules: " + NSRegularExpression.escapedPattern(for: message).replacingOccurrences(of: "PID", with: "[0-9]+") + "\n$"
        #expect(result.stderr.contains(try Regex(pattern)), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(try snapshot() == before, "the store and its log as they were, no temporary file", sourceLocation: sourceLocation)
    }

    /// With the fault gone, the run succeeds: nothing was left in its way.
    func expectNextRunSaves(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try runUnprivileged(runArguments)
        #expect(result.status == 0, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(try JSONStoreFile(path: storePath).load().store.revision == 1, sourceLocation: sourceLocation)
        let names = try FileManager.default.contentsOfDirectory(atPath: storeDirectory.path).sorted()
        #expect(names == ["store.json", "store.json.audit.jsonl", "store.json.lock"], sourceLocation: sourceLocation)
    }

    @Test func aReadOnlyDirectory() throws {
        // Without a lock file, the lock can't be made; with one, the new store can't be.
        try chmod(storeDirectory.path, 0o555)
        try expectRefusedWrite("cannot open the lock file '\(storePath).lock': Permission denied")
        try chmod(storeDirectory.path, 0o777)
        #expect(FileManager.default.createFile(atPath: storePath + ".lock", contents: nil))
        try chmod(storePath + ".lock", 0o666)
        try chmod(storeDirectory.path, 0o555)
        try expectRefusedWrite("cannot create '\(storeDirectory.path)/.store.json.tmp-PID': Permission denied")
        try chmod(storeDirectory.path, 0o777)
        try expectNextRunSaves()
    }

    /// `import --reject-to` keeps the refused lines before it saves: when the
    /// save then fails, they are taken out again (a new reject file removed),
    /// so that importing the feed again adds each once.
    @Test func aFailedSaveTakesTheRejectedLinesBackOut() throws {
        let feed = scratch.url.appendingPathComponent("feed.jsonl").path
        let lines = [
            #"{"event":"c1","type":"contact.received","at":"2026-11-21T08:10:00Z","contact":{"id":"cw1","email":"w@example.com"}}"#,
            #"{"event":"bad","type":"message.received","at":"2026-11-21T08:10:00Z","job":"J-9999","body":"hello"}"#,
        ]
        #expect(FileManager.default.createFile(atPath: feed, contents: Data((lines.joined(separator: "\n") + "\n").utf8)))
        #expect(FileManager.default.createFile(atPath: storePath + ".lock", contents: nil))
        try chmod(storePath + ".lock", 0o666)
        let older = #"{"rejected":{"feed":"earlier.jsonl","line":1,"at":"2026-11-21T07:00:00Z","reason":"r"},"text":"{}"}"# + "\n"
        let kept = scratch.url.appendingPathComponent("kept.jsonl").path
        #expect(FileManager.default.createFile(atPath: kept, contents: Data(older.utf8)))
        try chmod(kept, 0o666)
        let made = scratch.url.appendingPathComponent("made.jsonl").path
        try chmod(storeDirectory.path, 0o555)
        for rejects in [kept, made] {
            let before = try snapshot()
            let result = try runUnprivileged(["import", feed, "--store", storePath, "--now", "2026-11-21T09:00:00Z", "--reject-to", rejects])
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("cannot create '\(storeDirectory.path)/.store.json.tmp-"), "\(result.stderr)")
            #expect(try snapshot() == before)
        }
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == older)
        #expect(try String(contentsOfFile: made, encoding: .utf8) == "", "made, then emptied again")
        try chmod(storeDirectory.path, 0o777)
        let result = try runUnprivileged(["import", feed, "--store", storePath, "--now", "2026-11-21T09:00:00Z", "--reject-to", kept])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(try String(contentsOfFile: kept, encoding: .utf8).split(separator: "\n").count == 2)
    }

    @Test func anUnreadableStore() throws {
        try chmod(storePath, 0o000)
        try expectRefusedWrite("cannot open '\(storePath)': Permission denied")
        try chmod(storePath, 0o666)
        try expectNextRunSaves()
    }

    @Test func anAuditLogThatCannotBeWritten() throws {
        // The new store is written first, then the log: the new store must go again.
        #expect(FileManager.default.createFile(atPath: auditPath, contents: nil))
        try chmod(auditPath, 0o444)
        try expectRefusedWrite("cannot open the audit log '\(auditPath)': Permission denied")
        try chmod(auditPath, 0o666)
        try expectNextRunSaves()
    }

    @Test func aStorePathThatIsADirectory() throws {
        try FileManager.default.removeItem(atPath: storePath)
        try FileManager.default.createDirectory(atPath: storePath, withIntermediateDirectories: false)
        try expectRefusedWrite("'\(storePath)' is a directory, not a regular file: jobrules reads and writes store files only")
    }

    @Test func theFileSizeLimitReachedInTheAuditLog() throws {
        // The store (32 kB) fits under 256 kB; the log, already 300 kB, can't grow.
        let line = #"{"run":"0000000000000000","revision":0,"at":"2026-11-21T09:00:00Z","actor":"import","kind":"job","object":"J-1001","field":"tags","old":[],"new":["x"]}"# + "\n"
        try String(repeating: line, count: 300_000 / line.utf8.count).write(toFile: auditPath, atomically: true, encoding: .utf8)
        try chmod(auditPath, 0o666)
        try expectRefusedWrite("cannot write '\(auditPath)': File too large", shellPrefix: "ulimit -f 512")
        try expectNextRunSaves()
    }

    @Test func theFileSizeLimitReachedInTheStore() throws {
        try expectRefusedWrite(
            "cannot write '\(storeDirectory.path)/.store.json.tmp-PID': File too large", shellPrefix: "ulimit -f 16")
        try expectNextRunSaves()
    }
}
