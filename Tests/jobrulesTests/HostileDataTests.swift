import Foundation
import Marketplace
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Data that would break the program if it were taken at its word: numbers
/// and times at the edges, a store put back from a backup, files that aren't
/// what they seem, text that talks to the terminal, feeds that contradict
/// themselves. Each through the binary, as an attacker would try it.
@Suite struct HostileDataTests {
    let jobrules: Binary
    let scratch: Scratch
    let now = "2026-11-21T09:30:00Z"

    init() throws {
        jobrules = try Binary("jobrules")
        scratch = try Scratch()
        let made = try jobrules.run(["init", "--now", "2026-11-21T09:00:00Z"], in: scratch.url)
        try #require(made.status == 0)
    }

    var storePath: String { scratch.url.appendingPathComponent("store.json").path }
    var auditPath: String { storePath + ".audit.jsonl" }
    func storeBytes() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: storePath)) }

    func run(_ arguments: [String], input: String? = nil) throws -> Binary.Result {
        try jobrules.run(arguments, in: scratch.url, input: input, timeout: 30)
    }

    /// Replaces the first `old` in the store file by `new`.
    func editStore(_ old: String, _ new: String) throws {
        let text = try String(contentsOfFile: storePath, encoding: .utf8)
        let range = try #require(text.range(of: old), "\(old) is not in the store")
        try text.replacingCharacters(in: range, with: new).write(toFile: storePath, atomically: true, encoding: .utf8)
    }

    // MARK: Numbers and times

    /// Every number of the sample store, in turn, at each edge a JSON number
    /// can take: each run refuses the store (exit 2) or runs the shipped rules
    /// (0 or 1), and never dies of a signal.
    @Test func everyNumberAtItsEdgesIsRefusedOrRunsNeverCrashes() throws {
        let text = try String(contentsOfFile: storePath, encoding: .utf8)
        let numbers = try NSRegularExpression(pattern: #"(?<=[:\[,] ?)-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?(?=[,}\]\n])"#)
        let matches = numbers.matches(in: text, range: NSRange(text.startIndex..., in: text))
        #expect(matches.count >= 60)
        let edges = ["9223372036854775807", "-9223372036854775808", "9007199254740991", "9007199254740992", "18446744073709551616", "1e308", "-1e308",
                     "-0", "0.5", "4.9e-324", "99999999999999999999"]
        let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("rules").path
        var rng = SeededNumbers(seed: 2_026_113_001)
        var outcomes: [Int32: Int] = [:]
        for (k, match) in matches.enumerated() {
            guard let range = Range(match.range, in: text) else { continue }
            // The top of Int64 at each, and one more edge chosen by a seeded generator.
            let picks = [edges[0], edges[Int.random(in: 1..<edges.count, using: &rng)]]
            for edge in picks {
                try text.replacingCharacters(in: range, with: edge).write(toFile: storePath, atomically: true, encoding: .utf8)
                let result = try run(["run", "--rules", rules, "--now", "2026-11-25T09:30:00Z"])
                let what = "number \(k) (\(text[range])) = \(edge)"
                #expect(!result.timedOut && [0, 1, 2].contains(result.status), "\(what): exit \(result.status) \(result.stderr)")
                #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("overflow"), "\(what): \(result.stderr)")
                outcomes[result.status, default: 0] += 1
                // Saved runs start from the edited store next time: keep each from the original.
                try? FileManager.default.removeItem(atPath: auditPath)
            }
        }
        #expect(outcomes[2, default: 0] > 0 && outcomes[0, default: 0] + outcomes[1, default: 0] > 0, "\(outcomes)")
    }

    @Test func timesStayWithinWhatTheStoreCanWrite() throws {
        // O-1, due at the very end of 9999: an extension past it is refused, not saved as year 0000.
        try editStore(#""due_at":"2026-12-04T09:00:00Z""#, #""due_at":"9999-12-31T00:00:00Z""#)
        try scratch.write("extend.lua", "local o = orders.get('O-1') print(pcall(o.request_extension, o, 365, 'more time'))")
        let asked = try run(["exec", "extend.lua", "--now", now, "--dry-run"])
        #expect(asked.status == 0, "\(asked.stderr)")
        #expect(asked.stdout.contains("false\torder O-1: due 9999-12-31T00:00:00Z, 365 more days would pass 9999-12-31T23:59:59Z"), "\(asked.stdout)")
        // A request already pending, accepted by the buyer: the feed's line is refused.
        try editStore(#""extension_requests":[],"updates":[]}"#,
                      #""extension_requests":[{"days":365,"reason":"r","at":"2026-11-20T10:00:00Z","status":"pending","answered_at":null}],"updates":[]}"#)
        try scratch.write("answer.jsonl", #"{"event":"x1","type":"extension.answered","at":"2026-11-21T09:20:00Z","order":"O-1","accepted":true}"# + "\n")
        let before = try storeBytes()
        let answered = try run(["import", "answer.jsonl", "--now", now])
        #expect(answered.status == 2)
        #expect(answered.stderr.contains("line 1: extension.answered \"x1\": order O-1: due 9999-12-31T00:00:00Z, 365 more days would pass"), "\(answered.stderr)")
        #expect(try storeBytes() == before)
        // The clock, time.parse and time.iso: one range.
        let far = try run(["run", "--rules", scratch.url.path, "--now", "0000-06-01T00:00:00Z"])
        #expect(far.status == 2 && far.stderr.contains("--now: '0000-06-01T00:00:00Z' is out of range"), "\(far.stderr)")
        try scratch.write("times.lua", """
            print(time.parse("9999-12-31T23:59:59Z"), time.parse("0000-12-30T00:00:00Z"))
            print(time.iso(253402300799), pcall(time.iso, 253402300800))
            """)
        let times = try run(["exec", "times.lua", "--now", now, "--dry-run"])
        #expect(times.stdout.hasPrefix("253402300799\tnil\tnot an RFC 3339 time"), "\(times.stdout)")
        #expect(times.stdout.contains("9999-12-31T23:59:59Z\tfalse\t"), "\(times.stdout)")
    }

    // MARK: The audit log

    @Test func aStorePutBackFromABackupKeepsItsHistory() throws {
        let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("rules").path
        #expect(try run(["run", "--rules", rules, "--now", "2026-11-21T09:30:00Z"]).status == 0)
        let backup = try storeBytes()
        #expect(try run(["run", "--rules", rules, "--now", "2026-11-25T09:30:00Z"]).status == 0)
        // A line someone appended, after jobrules' own.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: auditPath))
        try handle.seekToEnd()
        handle.write(Data("# checked by the auditor\n".utf8))
        try handle.close()
        let history = try Data(contentsOf: URL(fileURLWithPath: auditPath))
        try backup.write(to: URL(fileURLWithPath: storePath))
        let refused = try run(["run", "--rules", rules, "--now", "2026-11-26T09:30:00Z"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("'store.json' is at revision 1 but its audit log 'store.json.audit.jsonl' goes up to revision 2"), "\(refused.stderr)")
        #expect(refused.stderr.contains("mv 'store.json.audit.jsonl' 'store.json.audit-until-r2.jsonl'"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: auditPath)) == history, "the history is kept whole")
        #expect(try storeBytes() == backup)
        // As the message says: with the log moved aside, the restored store goes on.
        try FileManager.default.moveItem(atPath: auditPath, toPath: storePath + ".audit-until-r2.jsonl")
        let after = try run(["run", "--rules", rules, "--now", "2026-11-26T09:30:00Z"])
        #expect(after.status == 0, "\(after.stderr)")
    }

    // MARK: Files that aren't what they seem

    @Test func filesThatAreNotWhatTheySeem() throws {
        let fm = FileManager.default
        let victim = scratch.url.appendingPathComponent("victim")
        try Data("precious\n".utf8).write(to: victim)
        // The lock file a symbolic link: never followed, even on a dry run.
        try fm.removeItem(atPath: storePath + ".lock")
        try fm.createSymbolicLink(atPath: storePath + ".lock", withDestinationPath: victim.path)
        let dry = try run(["run", "--rules", scratch.url.path, "--now", now, "--dry-run"])
        #expect(dry.status == 2 && dry.stderr.contains("'store.json.lock' is a symbolic link, not a regular file"), "\(dry.stderr)")
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious\n")
        try fm.removeItem(atPath: storePath + ".lock")
        // The audit log a symbolic link: refused, the victim untouched.
        try fm.createSymbolicLink(atPath: auditPath, withDestinationPath: victim.path)
        let logged = try run(["run", "--rules", scratch.url.path, "--now", now])
        #expect(logged.status == 2 && logged.stderr.contains("'store.json.audit.jsonl' is a symbolic link"), "\(logged.stderr)")
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious\n")
        try fm.removeItem(atPath: auditPath)
        // A symbolic link to the store: its target is updated, the link stays.
        let real = scratch.url.appendingPathComponent("real")
        try fm.createDirectory(at: real, withIntermediateDirectories: false)
        try fm.moveItem(atPath: storePath, toPath: real.appendingPathComponent("store.json").path)
        try fm.createSymbolicLink(atPath: storePath, withDestinationPath: "real/store.json")
        let linked = try run(["run", "--rules", scratch.url.path, "--now", now])
        #expect(linked.status == 0, "\(linked.stderr)")
        #expect(try fm.destinationOfSymbolicLink(atPath: storePath) == "real/store.json")
        #expect(try JSONStoreFile(path: real.appendingPathComponent("store.json").path).load().store.revision == 1)
        #expect(fm.fileExists(atPath: real.appendingPathComponent("store.json.audit.jsonl").path))
        // A FIFO as the store: refused at once, not waited on.
        let fifo = scratch.url.appendingPathComponent("fifo.json").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let piped = try run(["run", "--store", "fifo.json", "--rules", scratch.url.path, "--now", now, "--lock-timeout", "1"])
        #expect(!piped.timedOut && piped.status == 2 && piped.stderr.contains("'fifo.json' is a FIFO, not a regular file"), "\(piped.stderr)")
        #expect(!fm.fileExists(atPath: fifo + ".lock"))
        // A device: refused, nothing created beside it.
        let device = try run(["run", "--store", "/dev/zero", "--rules", scratch.url.path, "--now", now])
        #expect(device.status == 2 && device.stderr.contains("'/dev/zero' is a character device, not a regular file"), "\(device.stderr)")
        #expect(!fm.fileExists(atPath: "/dev/zero.lock"))
        let created = try run(["init", "--store", "/dev/null"])
        #expect(created.status == 2 && created.stderr.contains("'/dev/null' is a character device"), "\(created.stderr)")
        // Scripts and feeds from a FIFO or /dev/null are read to their end.
        let empty = try run(["exec", "/dev/null", "--now", now, "--dry-run"])
        #expect(empty.status == 0, "\(empty.stderr)")
        let none = try run(["import", "/dev/null", "--now", now, "--dry-run"])
        #expect(none.status == 0 && none.stdout.contains("/dev/null: 0 events"), "\(none.stderr)")
        let script = scratch.url.appendingPathComponent("script.fifo").path
        #expect(mkfifo(script, 0o644) == 0)
        DispatchQueue.global().async { try? Data("print('from a pipe')".utf8).write(to: URL(fileURLWithPath: script)) }
        let fromPipe = try run(["exec", "script.fifo", "--now", now, "--dry-run"])
        #expect(fromPipe.status == 0 && fromPipe.stdout == "from a pipe\n", "\(fromPipe.stderr)")
        // Among the rules: a directory or a FIFO named like a rule file is refused by name.
        let rules = scratch.url.appendingPathComponent("rules")
        try fm.createDirectory(at: rules.appendingPathComponent("x.lua"), withIntermediateDirectories: true)
        let directory = try run(["run", "--now", now, "--dry-run"])
        #expect(directory.status == 2 && directory.stderr.contains("'rules/x.lua' is a directory, not a rule file"), "\(directory.stderr)")
        try fm.removeItem(at: rules.appendingPathComponent("x.lua"))
        #expect(mkfifo(rules.appendingPathComponent("y.lua").path, 0o644) == 0)
        let fifoRule = try run(["run", "--now", now, "--dry-run"])
        #expect(!fifoRule.timedOut && fifoRule.status == 2 && fifoRule.stderr.contains("'rules/y.lua' is a FIFO, not a rule file"), "\(fifoRule.stderr)")
        let feedDirectory = try run(["import", "rules", "--now", now])
        #expect(feedDirectory.status == 2 && feedDirectory.stderr.contains("cannot read 'rules': it is a directory"), "\(feedDirectory.stderr)")
    }

    // MARK: Text that reaches a terminal

    @Test func dataNeverReachesTheTerminalRaw() throws {
        // Free text may hold control characters; what jobrules shows of it, escaped.
        try editStore(#""title":"Refresh product pages"#, #""title":"\u001b[2J\u001b]0;pwned\u0007\u009b31mRefresh product pages"#)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("rules"), withIntermediateDirectories: true)
        try scratch.write("rules/assign.lua", "rule{name = 'assign', on = 'jobs', where = {id = 'J-1001'}, run = function(job) job:assign('m2') end}")
        let dry = try run(["run", "--now", now, "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        for output in [dry.stdout, dry.stderr] {
            #expect(!output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B }, "\(output.debugDescription)")
        }
        #expect(dry.stdout.contains(#"\u001b[2J\u001b]0;pwned\u0007\u009b31mRefresh"#), "\(dry.stdout)")
        // The JSON report too: DEL and C1 escaped as well, still valid JSON.
        let json = try run(["run", "--now", now, "--dry-run", "--json"])
        #expect(!json.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B }, "\(json.stdout.prefix(300))")
        #expect(json.stdout.contains(#"\u009b31mRefresh"#))
        #expect((try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) != nil)
        // An error naming data, and the summary `print` shows of an object.
        try scratch.write("show.lua", """
            print(jobs.get('J-1001'))
            error('title: ' .. jobs.get('J-1001').title)
            """)
        let shown = try run(["exec", "show.lua", "--now", now, "--dry-run"])
        #expect(shown.status == 1)
        #expect(!shown.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B }, "\(shown.stderr.debugDescription)")
        #expect(shown.stderr.contains(#"title: \u{1B}[2J\u{1B}]0;pwned\u{7}\u{9B}31mRefresh"#), "\(shown.stderr)")
    }

    // MARK: Feeds that contradict themselves

    func event(_ id: String, _ type: String, at: String = "2026-11-21T09:10:00Z", _ fields: [String: Any]) throws -> String {
        let object = fields.merging(["event": id, "type": type, "at": at]) { a, _ in a }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Imports `lines` as a feed; the result and the problems it names.
    func importing(_ lines: [String]) throws -> Binary.Result {
        try scratch.write("feed.jsonl", lines.joined(separator: "\n") + "\n")
        return try run(["import", "feed.jsonl", "--now", now])
    }

    @Test func aFeedThatContradictsItselfIsRefusedLineByLine() throws {
        let job: [String: Any] = ["id": "J-3001", "source": "direct", "service": "seo", "title": "Audit"]
        let merchant: [String: Any] = ["id": "mer-new", "name": "New Co", "email": "hi@new.example"]
        // An id seen before with other content: refused, in one feed and across feeds.
        let first = try event("c1", "contact.received", ["contact": ["id": "k1", "name": "Kim", "email": "kim@example.com", "message": "Hello"]])
        let same = try event("c1", "contact.received", ["contact": ["message": "Hello", "email": "kim@example.com", "id": "k1", "name": "Kim"]])
        let other = try event("c1", "contact.received", ["contact": ["id": "k2", "name": "Kim", "email": "kim@example.com", "message": "Hello"]])
        let applied = try importing([first, same])
        #expect(applied.status == 0 && applied.stdout.contains("2 events: 1 applied, 1 skipped"), "\(applied.stdout)\(applied.stderr)")
        let replay = try importing([same])
        #expect(replay.status == 0 && replay.stdout.contains("1 event: 0 applied, 1 skipped"), "\(replay.stdout)\(replay.stderr)")
        let before = try storeBytes()
        let cases: [(String, String)] = [
            (other, "line 1: contact.received \"c1\": this event id was applied before with other content"),
            (try event("e2", "message.received", at: "2020-01-01T00:00:00Z", ["job": "J-1013", "body": "Hi"]),
             "a message at 2020-01-01T00:00:00Z on job J-1013, which was created later"),
            (try event("e3", "order.placed", ["order": ["id": "O-77", "buyer": "B", "service": "seo", "due_at": "2026-11-01T00:00:00Z"]]),
             "order O-77 would be due 2026-11-01T00:00:00Z, before it was placed (2026-11-21T09:10:00Z)"),
            (try event("e4", "job.received", ["job": job.merging(["created_at": "2026-11-22T00:00:00Z"]) { _, b in b }, "merchant": merchant]),
             "job J-3001 says it was created at 2026-11-22T00:00:00Z, after this event (2026-11-21T09:10:00Z)"),
            (try event("e5", "contact.received", ["contact": ["id": "k5", "name": "No At", "email": "no-at.example.com"]]),
             "contact.email: not an email address: \"no-at.example.com\""),
            (try event("e6", "job.received", ["job": job.merging(["title": String(repeating: "t", count: 10 << 20)]) { _, b in b }, "merchant": merchant]),
             "job.title: text longer than 1 MiB"),
            (try event("e7", "job.received", ["job": job.merging(["id": String(repeating: "j", count: 1 << 20)]) { _, b in b }, "merchant": merchant]),
             "job.id: longer than 256 bytes (1048576)"),
            (try event(String(repeating: "e", count: 5 << 20), "contact.received", ["contact": ["id": "k8", "email": "k8@example.com"]]),
             "event: longer than 256 bytes (5242880)"),
            (try event("e9", "job.received", ["job": job, "merchant": merchant.merging(["name": "New\u{1B}[2J Co"]) { _, b in b }]),
             "merchant.name: holds a control character (U+001B)"),
            (try event("e10", "contact.received", ["contact": ["id": "k10", "name": "No\u{0}body", "email": "k10@example.com"]]),
             "contact.name: holds a control character (U+0000)"),
        ]
        for (line, expected) in cases {
            let result = try importing([line])
            #expect(result.status == 2, "\(expected): \(result.stdout)")
            #expect(result.stderr.contains("line 1: "), "\(result.stderr.prefix(300))")
            #expect(result.stderr.contains(expected), "\(expected): \(result.stderr.prefix(500))")
            #expect(try storeBytes() == before)
        }
    }
}

/// A small seeded generator (SplitMix64): the same seed, the same picks.
struct SeededNumbers: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
