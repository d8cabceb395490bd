import Foundation
import Marketplace
import Testing

/// A small valid store; each bad-store case breaks one thing in it.
let validStore = """
    {
      "format": "jobrules-store",
      "version": 1,
      "revision": 0,
      "agency": {"name":"Northwind","services":[{"id":"seo","name":"SEO","min_budget":300,"currency":"USD"}],"preferences":{"available":true,"listed_in_search":true,"works_with_dropshippers":false,"notification_email":"jobs@northwind.example"}},
      "members": [
        {"id":"m1","name":"Ana","email":"ana@northwind.example","role":"lead","services":["seo"],"active":true}
      ],
      "merchants": [
        {"id":"mer1","name":"Maple","store":"maple.myshopify.com","email":"o@maple.example","dropshipper":false,"industry":"home","country":"CA"}
      ],
      "jobs": [
        {"id":"J-1","source":"match","merchant":"mer1","service":"seo","title":"T","details":"D","budget":{"min":100,"max":500,"currency":"USD"},"priorities":{"time":"high","cost":"low","quality":"high"},"status":"new","created_at":"2026-11-20T08:00:00Z","opened_at":null,"first_response_at":null,"assignees":["m1"],"tags":[],"notes":[],"declined":null,"completed_at":null}
      ],
      "messages": [
        {"id":"msg1","job":"J-1","from":"merchant","at":"2026-11-20T09:00:00Z","body":"Hi"}
      ],
      "contacts": [],
      "orders": [],
      "outbox": [],
      "stats": {"declines_by_service":{},"expired_by_service":{}}
    }

    """

/// One way to break a store, and what the error must say.
struct BadStore: Sendable, CustomStringConvertible {
    let description: String
    let bytes: @Sendable () -> [UInt8]
    let expected: String

    init(_ name: String, replacing old: String, with new: String, expect expected: String) {
        description = name
        bytes = { Array(validStore.replacingOccurrences(of: old, with: new).utf8) }
        self.expected = expected
    }

    init(_ name: String, bytes: @escaping @Sendable () -> [UInt8], expect expected: String) {
        description = name
        self.bytes = bytes
        self.expected = expected
    }

    static let all: [BadStore] = [
        BadStore("syntax", replacing: "\"revision\": 0,", with: "\"revision\": 0", expect: "store.json:5:3: invalid JSON: unexpected '\"', expected ',' or '}' after an object member"),
        BadStore("truncated", bytes: { Array(validStore.utf8.prefix(700)) }, expect: "invalid JSON: unexpected end of file"),
        BadStore("empty", bytes: { [] }, expect: "store.json:1:1: invalid JSON: the file is empty: a store is a JSON object"),
        BadStore("not an object", bytes: { Array("[1, 2]".utf8) }, expect: "store.json:1:1: invalid JSON: a store is a JSON object, not an array"),
        BadStore("byte-order mark", bytes: { [0xEF, 0xBB, 0xBF] + Array(validStore.utf8) }, expect: "the file starts with a byte-order mark"),
        BadStore("invalid UTF-8", bytes: { Array(validStore.utf8).map { $0 == UInt8(ascii: "H") ? 0xFF : $0 } }, expect: "invalid JSON: invalid UTF-8 in a string"),
        BadStore("NaN", replacing: "\"max\":500", with: "\"max\":NaN", expect: "invalid JSON: unexpected 'N', expected a value"),
        BadStore("number too large", replacing: "\"max\":500", with: "\"max\":1e400", expect: "jobs[0].budget.max: number out of range"),
        BadStore("duplicate key", replacing: "\"status\":\"new\",", with: "\"status\":\"new\",\"status\":\"opened\",", expect: "jobs[0].status: duplicate key"),
        // Out of order, the repeat is the key the reader predicts next: still a duplicate.
        BadStore("duplicate predicted key", replacing: "{\"id\":\"J-1\",\"source\":\"match\",",
                 with: "{\"merchant\":\"mer1\",\"id\":\"J-1\",\"source\":\"match\",", expect: "jobs[0].merchant: duplicate key"),
        BadStore("deep nesting", replacing: "\"revision\": 0,", with: "\"revision\": 0, \"deep\": " + String(repeating: "[", count: 100_000) + ",",
                 expect: "invalid JSON: nested deeper than 256 levels"),
        BadStore("wrong type", replacing: "\"title\":\"T\"", with: "\"title\":5", expect: "jobs[0].title: expected a string, found a number"),
        BadStore("unknown enum", replacing: "\"status\":\"new\"", with: "\"status\":\"opne\"", expect: "jobs[0].status: unknown status \"opne\" (expected \"new\", \"opened\""),
        BadStore("bad time", replacing: "\"created_at\":\"2026-11-20T08:00:00Z\"", with: "\"created_at\":\"yesterday\"",
                 expect: "jobs[0].created_at: not an RFC 3339 time: \"yesterday\""),
        BadStore("missing field", replacing: "\"source\":\"match\",", with: "", expect: "jobs[0].source: missing"),
        BadStore("duplicate id", replacing: "\"messages\": [\n", with: "\"messages\": [\n    {\"id\":\"msg1\",\"job\":\"J-1\",\"from\":\"merchant\",\"at\":\"2026-11-20T08:30:00Z\",\"body\":\"x\"},\n",
                 expect: "messages[1].id: duplicate id \"msg1\""),
        BadStore("unknown merchant", replacing: "\"merchant\":\"mer1\"", with: "\"merchant\":\"mer9\"", expect: "jobs[0].merchant: unknown merchant \"mer9\""),
        BadStore("unknown assignee", replacing: "\"assignees\":[\"m1\"]", with: "\"assignees\":[\"m9\"]", expect: "jobs[0].assignees[0]: unknown member \"m9\""),
        BadStore("unknown message job", replacing: "\"job\":\"J-1\"", with: "\"job\":\"J-9\"", expect: "messages[0].job: unknown job \"J-9\""),
        BadStore("unknown message author", replacing: "\"from\":\"merchant\"", with: "\"from\":\"member:m9\"", expect: "messages[0].from: unknown member \"m9\""),
        BadStore("bad author form", replacing: "\"from\":\"merchant\"", with: "\"from\":\"bot\"",
                 expect: "messages[0].from: unknown author \"bot\" (expected \"merchant\" or \"member:<id>\")"),
        BadStore("declined without details", replacing: "\"status\":\"new\"", with: "\"status\":\"declined\"",
                 expect: "jobs[0].declined: a declined job needs {\"by\", \"at\", \"reason\"}"),
        BadStore("not a store", replacing: "\"format\": \"jobrules-store\",", with: "", expect: "(1 problem):\n  format: missing: this is not a jobrules store"),
        BadStore("every missing key at once", bytes: { Array("{\"revision\": 0, \"jobs\": []}".utf8) },
                 expect: "(3 problems):\n  format: missing: this is not a jobrules store (expected \"format\": \"jobrules-store\")\n  version: missing\n  agency: missing\n"),
        // An absent collection reads as empty: what refers into it fails because it is absent, and says so once, first.
        BadStore("no jobs", bytes: {
            let jobs = validStore.range(of: "  \"jobs\": [")!.lowerBound..<validStore.range(of: "  \"messages\"")!.lowerBound
            return Array(validStore.replacingCharacters(in: jobs, with: "").utf8)
        }, expect: "(1 problem):\n  jobs: missing, yet messages[0].job refers to jobs (an absent collection reads as empty)\n"),
        BadStore("applied events not a list", replacing: "\"stats\": {", with: "\"applied_events\": \"ev-1\",\n      \"stats\": {",
                 expect: "applied_events: expected an array, found a string"),
        BadStore("applied event twice", replacing: "\"stats\": {", with: "\"applied_events\": [\"ev-1\", \"ev-1\"],\n      \"stats\": {",
                 expect: "applied_events: an event id is listed twice"),
        BadStore("newer version", replacing: "\"version\": 1,", with: "\"version\": 2,", expect: "version: unsupported version 2 (this jobrules reads version 1)"),
        // Numbers the next save or decline would add one to, past what 64 bits hold.
        BadStore("revision at the top of Int64", replacing: "\"revision\": 0,", with: "\"revision\": 9223372036854775807,",
                 expect: "revision: number out of range (0 to 9007199254740991)"),
        BadStore("count at the top of Int64", replacing: "\"expired_by_service\":{}", with: "\"expired_by_service\":{\"seo\":9223372036854775807}",
                 expect: "stats.expired_by_service.seo: expected a count (an integer from 0 to 9007199254740991)"),
        // Times outside what the store can write back.
        BadStore("year 0000", replacing: "\"created_at\":\"2026-11-20T08:00:00Z\"", with: "\"created_at\":\"0000-12-30T00:00:00Z\"",
                 expect: "jobs[0].created_at: time out of range: \"0000-12-30T00:00:00Z\" (times run from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)"),
        BadStore("past 9999 by an offset", replacing: "\"created_at\":\"2026-11-20T08:00:00Z\"", with: "\"created_at\":\"9999-12-31T23:30:00-01:00\"",
                 expect: "jobs[0].created_at: time out of range"),
        // Sizes and characters: the same caps as feeds and the Lua API.
        BadStore("an escape sequence in a name", replacing: "\"name\":\"Maple\"", with: "\"name\":\"Maple\\u001b]0;pwned\\u0007\"",
                 expect: "merchants[0].name: holds a control character (U+001B): one line of text only"),
        BadStore("a C1 control in an id", replacing: "{\"id\":\"J-1\",", with: "{\"id\":\"J-\u{9B}1\",", expect: "jobs[0].id: holds a control character (U+009B)"),
        BadStore("an id of a megabyte", replacing: "{\"id\":\"J-1\",", with: "{\"id\":\"J-" + String(repeating: "1", count: 1 << 20) + "\",",
                 expect: "jobs[0].id: longer than 256 bytes (1048578)"),
        BadStore("a title of ten megabytes", replacing: "\"title\":\"T\"", with: "\"title\":\"" + String(repeating: "t", count: 10 << 20) + "\"",
                 expect: "jobs[0].title: text longer than 1 MiB (10485760 bytes)"),
        BadStore("a tag with a NUL", replacing: "\"tags\":[]", with: "\"tags\":[\"a\\u0000b\"]", expect: "jobs[0].tags[0]: holds a control character (U+0000)"),
        BadStore("a tag with a space", replacing: "\"tags\":[]", with: "\"tags\":[\"two words\"]",
                 expect: "jobs[0].tags: bad tag \"two words\": a tag is 1 to 64 characters without spaces or control characters"),
        BadStore("a digest that isn't one", replacing: "\"stats\": {", with: "\"applied_events\": [\"ev-1\"],\n      \"applied_event_digests\": {\"ev-1\": \"xyz\"},\n      \"stats\": {",
                 expect: "applied_event_digests.ev-1: expected a digest (16 hex digits)"),
        BadStore("a digest of no applied event", replacing: "\"stats\": {", with: "\"applied_events\": [\"ev-1\"],\n      \"applied_event_digests\": {\"ev-2\": \"00000000000000ff\"},\n      \"stats\": {",
                 expect: "applied_event_digests: \"ev-2\" is not an applied event"),
        BadStore("too many tags", replacing: "\"tags\":[]", with: "\"tags\":[" + (1...101).map { "\"t\($0)\"" }.joined(separator: ",") + "]",
                 expect: "jobs[0].tags: 101 tags: a job has at most 100"),
    ]
}

@Suite struct StoreCommandTests {
    let jobrules: Binary
    let scratch: Scratch
    /// An empty rules directory: these runs apply expiry only.
    let noRules: Scratch
    let now = "2026-11-21T09:00:00Z"

    init() throws {
        jobrules = try Binary("jobrules")
        scratch = try Scratch()
        noRules = try Scratch()
    }

    var storePath: String { scratch.url.appendingPathComponent("store.json").path }
    let shippedRules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("rules").path

    func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).sorted()
    }

    func revision(of path: String) throws -> Int? {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        return json?["revision"] as? Int
    }

    @Test(arguments: BadStore.all)
    func aBadStoreIsRefusedAndLeftUntouched(_ bad: BadStore) throws {
        let bytes = bad.bytes()
        try Data(bytes).write(to: URL(fileURLWithPath: storePath))
        let result = try jobrules.run(["run", "--rules", noRules.url.path, "--now", now], in: scratch.url)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("jobrules: "))
        #expect(result.stderr.contains(bad.expected), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == Data(bytes))
        #expect(try entries() == ["store.json", "store.json.lock"])
    }

    @Test func aValidStoreRunsAndExpiresFromTheGivenClock() throws {
        try Data(validStore.utf8).write(to: URL(fileURLWithPath: storePath))
        let early = try jobrules.run(["run", "--rules", noRules.url.path, "--now", "2026-11-23T07:59:59Z"], in: scratch.url)
        #expect(early.status == 0)
        #expect(early.stdout == "store.json at 2026-11-23T07:59:59Z: nothing to change (revision 0)\nexpired: none\n")
        let dry = try jobrules.run(["run", "--rules", noRules.url.path, "--now", "2026-11-23T08:00:00Z", "--dry-run"], in: scratch.url)
        #expect(dry.stdout == """
            store.json at 2026-11-23T08:00:00Z (dry run: nothing written)
            expired: 1 job (J-1)

            plan: 2 changes to 2 objects
              ~ job J-1  (expiry)
                  status: "new" → "expired"
              ~ stats  (expiry)
                  expired_by_service.seo: null → 1

            """)
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == Data(validStore.utf8))
        let run = try jobrules.run(["run", "--rules", noRules.url.path, "--now", "2026-11-23T08:00:00Z"], in: scratch.url)
        #expect(run.status == 0)
        #expect(run.stdout == "store.json at 2026-11-23T08:00:00Z: revision 0 → 1, 2 changes saved\nexpired: 1 job (J-1)\n")
        let expected = validStore.replacingOccurrences(of: "\"revision\": 0,", with: "\"revision\": 1,")
            .replacingOccurrences(of: "\"status\":\"new\"", with: "\"status\":\"expired\"")
            .replacingOccurrences(of: "\"expired_by_service\":{}", with: "\"expired_by_service\":{\"seo\":1}")
        #expect(try String(contentsOfFile: storePath, encoding: .utf8) == expected)
        #expect(try String(contentsOfFile: storePath + ".audit.jsonl", encoding: .utf8).split(separator: "\n").count == 2)
    }

    @Test func aRunWithNothingToChangeStillClearsAKilledSavesLeftovers() throws {
        try Data(validStore.utf8).write(to: URL(fileURLWithPath: storePath))
        try Data("{\"half".utf8).write(to: scratch.url.appendingPathComponent(".store.json.tmp-4242"))
        // A save of revision 1 noted itself in the lock file, appended a torn line and died.
        let torn = #"{"run":"x","revision":1,"at":"2026-11-21T09:00:00Z","actor":"expiry","kind":"job","object":"J-1","fi"#
        try Data(torn.utf8).write(to: URL(fileURLWithPath: storePath + ".audit.jsonl"))
        let record = "pending 1 x 0"
        try Data(("pid 1" + String(repeating: " ", count: 58) + "\n" + record + String(repeating: " ", count: 127 - record.count) + "\n").utf8)
            .write(to: URL(fileURLWithPath: storePath + ".lock"))
        let dry = try jobrules.run(["run", "--rules", noRules.url.path, "--now", "2026-11-21T09:00:00Z", "--dry-run"], in: scratch.url)
        #expect(dry.status == 0)
        #expect(try entries() == [".store.json.tmp-4242", "store.json", "store.json.audit.jsonl", "store.json.lock"])
        let run = try jobrules.run(["run", "--rules", noRules.url.path, "--now", "2026-11-21T09:00:00Z"], in: scratch.url)
        #expect(run.stdout.hasSuffix("nothing to change (revision 0)\nexpired: none\n"))
        #expect(try entries() == ["store.json", "store.json.audit.jsonl", "store.json.lock"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath + ".audit.jsonl")).isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == Data(validStore.utf8))
    }

    @Test func aDryRunAfterAKilledSaveSeesTheStoreAsItIs() throws {
        try Data(validStore.utf8).write(to: URL(fileURLWithPath: storePath))
        // Whole lines of a save of revision 1 that died before the rename, noted in the lock file.
        let line = #"{"run":"x","revision":1,"at":"2026-11-21T09:00:00Z","actor":"expiry","kind":"job","object":"J-1","field":"status","old":"new","new":"expired"}"#
        try Data((line + "\n" + line + "\n").utf8).write(to: URL(fileURLWithPath: storePath + ".audit.jsonl"))
        let record = "pending 1 x 0"
        try Data(("pid 1" + String(repeating: " ", count: 58) + "\n" + record + String(repeating: " ", count: 127 - record.count) + "\n").utf8)
            .write(to: URL(fileURLWithPath: storePath + ".lock"))
        let dry = try jobrules.run(["run", "--rules", noRules.url.path, "--now", "2026-11-21T09:00:00Z", "--dry-run"], in: scratch.url)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(try String(contentsOfFile: storePath + ".audit.jsonl", encoding: .utf8) == line + "\n" + line + "\n")
        let run = try jobrules.run(["run", "--rules", noRules.url.path, "--now", "2026-11-21T09:00:00Z"], in: scratch.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath + ".audit.jsonl")).isEmpty)
    }

    @Test func aTornLineJobrulesDidNotNoteIsKept() throws {
        try Data(validStore.utf8).write(to: URL(fileURLWithPath: storePath))
        let torn = #"{"run":"x","revision":1,"at":"2026-11-21T09:00:00Z","actor":"expiry","kind":"job","object":"J-1","fi"#
        try Data(torn.utf8).write(to: URL(fileURLWithPath: storePath + ".audit.jsonl"))
        let run = try jobrules.run(["run", "--rules", noRules.url.path, "--now", "2026-11-21T09:00:00Z"], in: scratch.url)
        #expect(run.status == 0)
        #expect(try String(contentsOfFile: storePath + ".audit.jsonl", encoding: .utf8) == torn)
    }

    @Test func initWritesTheSampleAndNeverOverwrites() throws {
        let first = try jobrules.run(["init", "--now", now], in: scratch.url)
        #expect(first.status == 0)
        let sample = try Data(contentsOf: URL(fileURLWithPath: storePath))
        let json = try #require(try JSONSerialization.jsonObject(with: sample) as? [String: Any])
        let jobs = try #require(json["jobs"] as? [[String: Any]])
        #expect(jobs.count == 30)
        #expect(Set(jobs.compactMap { $0["status"] as? String }) == Set(JobStatus.allCases.map(\.rawValue)))
        #expect(Set(jobs.compactMap { $0["source"] as? String }) == ["match", "direct"])
        let orders = try #require(json["orders"] as? [[String: Any]])
        #expect(Set(orders.compactMap { $0["status"] as? String }) == Set(OrderStatus.allCases.map(\.rawValue)))
        #expect((json["merchants"] as? [[String: Any]])?.filter { $0["dropshipper"] as? Bool == true }.count == 2)
        let second = try jobrules.run(["init"], in: scratch.url)
        #expect(second.status == 2)
        #expect(second.stderr == "jobrules: 'store.json' already exists: jobrules init never overwrites a store\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == sample)
    }

    /// A newcomer's folder: `init` at the real clock, then the commands it
    /// suggests, each working the first time.
    @Test func initPreparesAFolderWhereTheFirstCommandsWork() throws {
        let made = try jobrules.run(["init"], in: scratch.url)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("wrote the shipped rules to rules/: 01-decline-mismatched.lua"))
        #expect(made.stdout.contains("jobrules import sample-events.jsonl"))
        for name in ["01-decline-mismatched.lua", "02-assign-by-service.lua", "03-escalate-near-expiry.lua", "04-chase-late-orders.lua"] {
            let written = try Data(contentsOf: scratch.url.appendingPathComponent("rules/" + name))
            let shipped = try Data(contentsOf: URL(fileURLWithPath: shippedRules + "/" + name))
            #expect(written == shipped, "\(name) as built in")
        }
        let imported = try jobrules.run(["import", "sample-events.jsonl"], in: scratch.url)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("9 events: 9 applied"))
        let dry = try jobrules.run(["run", "--dry-run"], in: scratch.url)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("expired: none"), "nothing the feed brought expires at once")
        let ran = try jobrules.run(["run"], in: scratch.url)
        #expect(ran.status == 0, "\(ran.stderr)")
        let store = try JSONStoreFile(path: storePath).load().store
        #expect(store.jobs[try #require(store.job("J-1031"))].status == .new)
        #expect(store.jobs[try #require(store.job("J-1031"))].assignees.count == 1)

        // A folder with a store and no rules: init writes the rules alone.
        try FileManager.default.removeItem(at: scratch.url.appendingPathComponent("rules"))
        let before = try Data(contentsOf: URL(fileURLWithPath: storePath))
        let noRules = try jobrules.run(["run"], in: scratch.url)
        #expect(noRules.status == 2)
        #expect(noRules.stderr == "jobrules: no rule file or directory 'rules' (`jobrules init` writes the shipped rules there)\n")
        let rulesOnly = try jobrules.run(["init"], in: scratch.url)
        #expect(rulesOnly.status == 0, "\(rulesOnly.stderr)")
        #expect(rulesOnly.stdout.hasPrefix("left store.json as it is (it exists: jobrules init never overwrites a store)\nwrote the shipped rules to rules/"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == before)
        #expect(try jobrules.run(["check"], in: scratch.url).status == 0)
    }

    @Test func aBadClockIsAUsageError() throws {
        let result = try jobrules.run(["run", "--rules", noRules.url.path, "--now", "tomorrow"], in: scratch.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains("--now: not an RFC 3339 time: 'tomorrow'"))
        let missing = try jobrules.run(["run", "--rules", noRules.url.path], in: scratch.url)
        #expect(missing.status == 2)
        #expect(missing.stderr == "jobrules: no store at 'store.json' (create one with `jobrules init --store store.json`)\n")
    }

    /// Random byte edits of the sample, through the binary: never a crash; a
    /// refused store is left as it was, with nothing beside it. Seeded.
    @Test func randomlyDamagedStoresNeverCrashAndAreNeverWritten() throws {
        let made = try jobrules.run(["init", "--now", now, "--store", "sample.json", "--no-rules", "--no-events"], in: scratch.url)
        try #require(made.status == 0)
        let sample = try [UInt8](Data(contentsOf: scratch.url.appendingPathComponent("sample.json")))
        try FileManager.default.removeItem(at: scratch.url.appendingPathComponent("sample.json"))
        try FileManager.default.removeItem(at: scratch.url.appendingPathComponent("sample.json.lock"))
        var numbers = SeededNumbers(seed: 20_261_123)
        func next(_ bound: Int) -> Int { Int(numbers.next() % UInt64(bound)) }
        var refused = 0
        for iteration in 0..<100 {
            var bytes = sample
            let marks = Array("{}[]\",:0-e\\".utf8)
            for _ in 0...next(3) where !bytes.isEmpty {
                let at = next(bytes.count)
                switch next(4) {
                case 0: bytes[at] = UInt8(next(256))
                case 1: bytes.insert(marks[next(marks.count)], at: at)
                case 2: bytes.removeSubrange(at..<min(bytes.count, at + 1 + next(40)))
                default: bytes = Array(bytes.prefix(at))
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: storePath))
            try? FileManager.default.removeItem(atPath: storePath + ".audit.jsonl")
            let result = try jobrules.run(["run", "--rules", noRules.url.path, "--now", now], in: scratch.url)
            #expect([0, 2].contains(result.status), "iteration \(iteration): \(result.status) \(result.stderr)")
            if result.status == 2 {
                refused += 1
                #expect(result.stderr.hasPrefix("jobrules: "), "iteration \(iteration)")
                #expect(try Data(contentsOf: URL(fileURLWithPath: storePath)) == Data(bytes), "iteration \(iteration)")
                #expect(try entries() == ["store.json", "store.json.lock"], "iteration \(iteration)")
            }
        }
        #expect(refused > 50)
    }
}
