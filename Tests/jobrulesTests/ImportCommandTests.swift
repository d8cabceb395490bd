import Foundation
import Marketplace
import Testing

/// `jobrules import` on the sample store: each event type's effect and
/// refusals, all or nothing, replays, standard input, dry runs.
@Suite struct ImportCommandTests {
    let jobrules: Binary
    let scratch: Scratch
    /// The import's clock: J-1006 and J-1011 have expired by then.
    let now = "2026-11-21T09:30:00Z"

    init() throws {
        jobrules = try Binary("jobrules")
        scratch = try Scratch()
        let made = try jobrules.run(["init", "--now", "2026-11-21T09:00:00Z"], in: scratch.url)
        try #require(made.status == 0)
    }

    var storePath: String { scratch.url.appendingPathComponent("store.json").path }
    func storeBytes() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: storePath)) }
    func load() throws -> Store { try JSONStoreFile(path: storePath).load().store }

    /// One event a line.
    func feed(_ name: String, _ events: [[String: Any]]) throws -> String {
        let lines = try events.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        try scratch.write(name, lines.joined(separator: "\n") + "\n")
        return name
    }

    func event(_ id: String, _ type: String, at: String = "2026-11-21T09:10:00Z", _ fields: [String: Any]) -> [String: Any] {
        fields.merging(["event": id, "type": type, "at": at]) { a, _ in a }
    }

    func importing(_ arguments: [String], input: String? = nil) throws -> Binary.Result {
        try jobrules.run(["import"] + arguments + ["--now", now], in: scratch.url, input: input)
    }

    static var newJob: [String: Any] { [
        "id": "J-2001", "source": "direct", "service": "seo", "title": "Audit my store", "details": "Pages load slowly",
        "budget": ["min": 300, "max": 900, "currency": "USD"], "priorities": ["time": "high", "cost": "medium", "quality": "high"],
    ] }
    static var newMerchant: [String: Any] { [
        "id": "mer-fjord", "name": "Fjord Supply", "store": "fjord.myshopify.com", "email": "hi@fjord.example",
        "dropshipper": false, "industry": "outdoor", "country": "NO",
    ] }

    @Test func eachEventTypeGoesThroughTheDomain() throws {
        let valid = [
            event("e1", "job.received", ["job": Self.newJob, "merchant": Self.newMerchant]),
            event("e2", "job.received", ["job": ["id": "J-2002", "source": "match", "service": "migration", "created_at": "2026-11-21T08:00:00Z"],
                                         "merchant": ["id": "mer1", "name": "Someone else"]]),
            event("e3", "message.received", ["job": "J-1013", "body": "Any news on the audit?"]),
            event("e4", "message.received", ["job": "J-1001", "body": "Are you there?"]),
            event("e5", "job.declined_by_merchant", ["job": "J-1002", "reason": "We went with another agency."]),
            event("e6", "contact.received", ["contact": ["id": "c9", "name": "Ines", "email": "ines@example.com", "message": "Can you help?"]]),
            event("e7", "order.placed", ["order": ["id": "O-9", "buyer": "Fjord Supply", "service": "seo", "due_at": "2026-12-05T09:00:00Z"]]),
            event("e8", "order.requirements_submitted", ["order": "O-1"]),
            event("e9", "order.completed", ["order": "O-4"]),
            event("e10", "order.canceled", ["order": "O-2", "by": "support"]),
            event("e11", "extension.answered", ["order": "O-7", "accepted": true]),
        ]
        let before = try load()
        let result = try importing([try feed("events.jsonl", valid)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("store.json at 2026-11-21T09:30:00Z: revision 0 → 1,"))
        #expect(result.stdout.contains("expired: 2 jobs (J-1006, J-1011)"))
        #expect(result.stdout.contains("events.jsonl: 11 events: 11 applied, 0 skipped (already applied), 0 refused"))
        #expect(result.stdout.contains("job.received                          2        0        0"))
        let store = try load()
        let at = try #require(RFC3339.parse("2026-11-21T09:10:00Z"))

        // job.received: a new job, its merchant created when unknown, the agency told.
        let j1 = try #require(store.job("J-2001"))
        #expect(store.jobs[j1].status == .new)
        #expect(store.jobs[j1].createdAt == at, "no created_at: the event's time")
        #expect(store.merchants[store.jobs[j1].merchant].name == "Fjord Supply")
        #expect(store.jobs[j1].budget?.max == 900)
        let j2 = try #require(store.job("J-2002"))
        #expect(store.merchants[store.jobs[j2].merchant].name == "Maple Goods", "a known merchant is kept as it is")
        #expect(store.jobs[j2].createdAt == RFC3339.parse("2026-11-21T08:00:00Z"))
        #expect(store.merchants.count == before.merchants.count + 1)
        let told = store.outbox.filter { $0.to == "jobs@northwind.example" }
        #expect(told.contains { $0.subject == "New job: J-2001 Audit my store" && $0.body.string.contains("Fjord Supply sent a direct request for seo") })
        #expect(told.contains { $0.subject.hasPrefix("New job: J-2002") })

        // message.received: responded → awaiting_response, each assignee emailed.
        let j13 = try #require(store.job("J-1013"))
        #expect(store.jobs[j13].status == .awaitingResponse)
        let last = try #require(store.lastMessage(ofJob: j13))
        #expect(store.messages[last].from == .merchant && store.messages[last].body.string == "Any news on the audit?")
        let emailed = Set(store.outbox.filter { $0.subject.hasPrefix("New message on J-1013") }.map(\.to))
        #expect(emailed == ["ben@northwind.example", "dana@northwind.example"])
        // On a new, unassigned job: the status stays, the agency's address is told.
        let j01 = try #require(store.job("J-1001"))
        #expect(store.jobs[j01].status == .new)
        #expect(told.contains { $0.subject.hasPrefix("New message on J-1001") })

        // job.declined_by_merchant: declined by the merchant, counted.
        let j02 = try #require(store.job("J-1002"))
        #expect(store.jobs[j02].status == .declined)
        #expect(store.jobs[j02].lifecycle.declined?.by == .merchant)
        #expect(store.jobs[j02].lifecycle.declined?.reason == "We went with another agency.")
        #expect(store.stats.declinesByService["seo"] == (before.stats.declinesByService["seo"] ?? 0) + 1)

        // contact.received, order.placed: new objects at the event's time.
        let c9 = try #require(store.contact("c9"))
        #expect(store.contacts[c9].at == at && store.contacts[c9].email == "ines@example.com")
        let o9 = try #require(store.order("O-9"))
        #expect(store.orders[o9].status == .notStarted && store.orders[o9].placedAt == at)
        #expect(store.orders[o9].dueAt == RFC3339.parse("2026-12-05T09:00:00Z"))

        // The order events: started, completed, canceled, the extension accepted.
        #expect(store.orders[try #require(store.order("O-1"))].status == .inProgress)
        #expect(store.orders[try #require(store.order("O-4"))].status == .completed)
        let o2 = store.orders[try #require(store.order("O-2"))]
        #expect(o2.status == .canceled && o2.canceled?.by == .support)
        let o7 = store.orders[try #require(store.order("O-7"))]
        #expect(o7.dueAt == RFC3339.parse("2026-12-02T09:00:00Z"), "accepted: due_at moves by the request's 5 days")
        #expect(o7.extensionRequests.last?.status == .accepted)

        // Ids kept in the store, changes in the audit log under each event.
        #expect(store.appliedEvents == (1...11).map { "e\($0)" })
        let audit = try String(contentsOfFile: storePath + ".audit.jsonl", encoding: .utf8)
        for id in 1...11 { #expect(audit.contains("\"actor\":\"import:e\(id)\"")) }
        #expect(audit.contains("\"actor\":\"expiry\""))
    }

    @Test func anExtensionDeclinedLeavesTheDueDate() throws {
        let result = try importing([try feed("e.jsonl", [event("x1", "extension.answered", ["order": "O-7", "accepted": false])])])
        #expect(result.status == 0, "\(result.stderr)")
        let o7 = try load().orders[try #require(try load().order("O-7"))]
        #expect(o7.dueAt == RFC3339.parse("2026-11-27T09:00:00Z"))
        #expect(o7.extensionRequests.last?.status == .declined)
    }

    /// Each refusal, named with its line; nothing of the file is written.
    @Test func everyBadLineIsNamedAndNothingIsWritten() throws {
        let good = event("ok", "contact.received", ["contact": ["id": "c8", "email": "a@example.com"]])
        let lines: [([String: Any]?, String)] = [
            (good, ""),
            (event("b1", "job.received", ["job": ["id": "J-1001", "source": "match", "service": "seo"], "merchant": ["id": "mer1", "name": "M"]]),
             "line 2: job.received \"b1\": job J-1001 already exists"),
            (event("b2", "job.received", ["job": ["id": "J-3", "source": "match", "service": "seo", "status": "opened"], "merchant": ["id": "mer1", "name": "M"]]),
             "line 3: job.received \"b2\": job.status: a received job is new, not \"opened\""),
            (event("b3", "message.received", ["job": "J-1011", "body": "hello?"]),
             "line 4: message.received \"b3\": job J-1011 is expired: expired jobs can't be acted upon"),
            (event("b4", "message.received", ["job": "J-9999", "body": "hello?"]),
             "line 5: message.received \"b4\": no job \"J-9999\" in the store"),
            (event("b5", "job.declined_by_merchant", ["job": "J-1019", "reason": "again"]),
             "line 6: job.declined_by_merchant \"b5\": job J-1019 can't be declined: it is declined"),
            (event("b6", "contact.received", ["contact": ["id": "c1", "email": "x@example.com"]]),
             "line 7: contact.received \"b6\": contact c1 already exists"),
            (event("b7", "order.placed", ["order": ["id": "O-1", "due_at": "2026-12-01T00:00:00Z"]]),
             "line 8: order.placed \"b7\": order O-1 already exists"),
            (event("b8", "order.requirements_submitted", ["order": "O-2"]),
             "line 9: order.requirements_submitted \"b8\": order O-2 can't be started: it is in_progress"),
            (event("b9", "order.completed", ["order": "O-6"]),
             "line 10: order.completed \"b9\": order O-6 can't be completed: it is canceled"),
            (event("b10", "order.canceled", ["order": "O-1", "by": "buyer"]),
             "line 11: order.canceled \"b10\": by: unknown cancellation \"buyer\""),
            (event("b11", "extension.answered", ["order": "O-1", "accepted": true]),
             "line 12: extension.answered \"b11\": order O-1"),
            (event("b12", "message.received", ["job": "J-1013"]),
             "line 13: message.received \"b12\": a message.received event needs \"body\""),
            (event("b13", "job.exploded", [:]),
             "line 14: job.exploded \"b13\": type: unknown event type \"job.exploded\""),
            (nil, "line 15: invalid JSON at column 1: invalid literal"),
            (event("b15", "order.completed", at: "yesterday", ["order": "O-4"]),
             "line 16: order.completed \"b15\": at: not an RFC 3339 time: \"yesterday\""),
            (event("ok2", "contact.received", ["contact": ["id": "c7", "email": "b@example.com"]]), ""),
        ]
        var text = ""
        for (object, _) in lines {
            if let object {
                text += String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) + "\n"
            } else {
                text += "not json\n"
            }
        }
        try scratch.write("bad.jsonl", text)
        let before = try storeBytes()
        let result = try importing(["bad.jsonl"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("jobrules: bad.jsonl: 15 bad lines of 17, nothing was imported:\n"), "\(result.stderr)")
        for (_, expected) in lines where !expected.isEmpty {
            #expect(result.stderr.contains("\n  " + expected), "missing: \(expected)\n\(result.stderr)")
        }
        #expect(result.stdout.contains("bad.jsonl: 17 events: 2 valid, 0 skipped (already applied), 15 refused"))
        #expect(try storeBytes() == before)
        #expect(!FileManager.default.fileExists(atPath: storePath + ".audit.jsonl"))
    }

    /// A job as the store writes it (without a status, or "new") is received
    /// when what it says agrees with the event; each real conflict is named.
    @Test func aJobInTheStoresFormIsReceivedAndOnlyConflictsAreRefused() throws {
        var stored = Self.newJob
        stored.merge([
            "merchant": "mer-fjord", "status": "new", "created_at": "2026-11-21T08:00:00Z", "opened_at": NSNull(),
            "first_response_at": NSNull(), "assignees": [String](), "tags": [String](), "notes": [String](),
            "declined": NSNull(), "completed_at": NSNull(),
        ]) { _, new in new }
        let accepted = try importing([try feed("store-form.jsonl", [event("s1", "job.received", ["job": stored, "merchant": Self.newMerchant])])])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let store = try load()
        let job = try #require(store.job("J-2001").map { store.jobs[$0] })
        #expect(job.status == .new && job.assignees.isEmpty && store.merchants[job.merchant].id == "mer-fjord")

        var conflicting = stored
        conflicting.merge([
            "id": "J-2002", "merchant": "mer1", "status": "responded", "opened_at": "2026-11-21T08:30:00Z",
            "assignees": ["m1"], "tags": ["vip"],
        ]) { _, new in new }
        let refused = try importing([try feed("conflict.jsonl", [event("s2", "job.received", ["job": conflicting, "merchant": Self.newMerchant])])])
        #expect(refused.status == 2)
        for expected in [
            "job.status: a received job is new, not \"responded\"",
            "job.opened_at: a received job has not been worked on yet",
            "job.assignees[0]: a received job has no assignees (rules assign it) yet",
            "job.tags[0]: a received job has no tags yet",
            "job.merchant: \"mer1\" is not the event's merchant \"mer-fjord\"",
        ] {
            #expect(refused.stderr.contains(expected), "missing: \(expected)\n\(refused.stderr)")
        }
        #expect(try load().job("J-2002") == nil)
    }

    @Test func oneBadLineInTheMiddleKeepsTheWholeFileOut() throws {
        var events = (1...6).map { event("m\($0)", "contact.received", ["contact": ["id": "cm\($0)", "email": "m\($0)@example.com"]]) }
        events.insert(event("m-bad", "message.received", ["job": "J-1017", "body": "late"]), at: 3)
        let before = try storeBytes()
        let refused = try importing([try feed("mixed.jsonl", events)])
        #expect(refused.status == 2)
        #expect(refused.stderr == "jobrules: mixed.jsonl: 1 bad line of 7, nothing was imported:\n  line 4: message.received \"m-bad\": job J-1017 is expired: expired jobs can't be acted upon\n")
        #expect(try storeBytes() == before)
        // Without the bad line, all of it goes in, once.
        events.remove(at: 3)
        let accepted = try importing([try feed("mixed.jsonl", events)])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(try load().contacts.count == 2 + 6)
    }

    /// `--reject-to`: the valid events go in, the refused lines wait in a
    /// file that is itself a feed, with the same event ids and contents.
    @Test func aRejectFileTakesTheBadLinesAndTheRestFlows() throws {
        let early = event("early", "message.received", at: "2026-11-21T09:20:00Z", ["job": "J-3000", "body": "Did you get my job?"])
        let first = [
            event("k1", "contact.received", ["contact": ["id": "ck1", "email": "k1@example.com"]]),
            early,
            event("late", "message.received", ["job": "J-1011", "body": "Still there?"]),
            event("k2", "contact.received", ["contact": ["id": "ck2", "email": "k2@example.com"]]),
        ]
        let name = try feed("hourly.jsonl", first)
        try scratch.write(name, try String(contentsOf: scratch.url.appendingPathComponent(name), encoding: .utf8) + "{oops\n")
        let originalLine = try #require(
            try String(contentsOf: scratch.url.appendingPathComponent(name), encoding: .utf8).split(separator: "\n").dropFirst().first)

        // A dry run says what would be kept aside and writes nothing.
        let dry = try importing([name, "--reject-to", "rejects.jsonl", "--dry-run"])
        #expect(dry.status == 1)
        #expect(dry.stdout.contains("5 events: 2 to apply, 0 skipped (already applied), 3 refused (to be appended to rejects.jsonl)"), "\(dry.stdout)")
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("rejects.jsonl").path))

        let result = try importing([name, "--reject-to", "rejects.jsonl"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("5 events: 2 applied, 0 skipped (already applied), 3 refused (appended to rejects.jsonl)"))
        #expect(result.stderr.contains("hourly.jsonl: 3 bad lines of 5 appended to rejects.jsonl, the others applied:"))
        #expect(result.stderr.contains("line 2: message.received \"early\": no job \"J-3000\" in the store"))
        #expect(try load().contacts.contains { $0.id == "ck2" })
        let rejects = try String(contentsOf: scratch.url.appendingPathComponent("rejects.jsonl"), encoding: .utf8)
        let records = try rejects.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(records.count == 3)
        let why = records.map { $0["rejected"] as? [String: Any] ?? [:] }
        #expect(why.map { $0["line"] as? Int } == [2, 3, 5])
        #expect(why.allSatisfy { $0["feed"] as? String == "hourly.jsonl" && $0["at"] as? String == now })
        #expect((why[1]["reason"] as? String ?? "").contains("job J-1011 is expired"))
        #expect(records[0]["text"] as? String == String(originalLine))
        #expect(records[2]["text"] as? String == "{oops")

        // The same file as feed and reject file would be read and added to at once: refused.
        let same = try importing(["rejects.jsonl", "--reject-to", "rejects.jsonl"])
        #expect(same.status == 2)
        #expect(same.stderr.contains("is the feed itself: move it aside first"))

        // The job the early message was about arrives; the rejects are fed back.
        try FileManager.default.moveItem(
            at: scratch.url.appendingPathComponent("rejects.jsonl"), to: scratch.url.appendingPathComponent("retry.jsonl"))
        var job = Self.newJob
        job["id"] = "J-3000"
        job["created_at"] = "2026-11-21T09:00:00Z"
        let arrived = try importing([try feed("next.jsonl", [event("j3000", "job.received", at: "2026-11-21T09:25:00Z", ["job": job, "merchant": Self.newMerchant])])])
        #expect(arrived.status == 0, "\(arrived.stderr)")
        let retried = try importing(["retry.jsonl", "--reject-to", "rejects.jsonl"])
        #expect(retried.status == 1)
        #expect(retried.stdout.contains("3 events: 1 applied, 0 skipped (already applied), 2 refused"), "\(retried.stdout)")
        let store = try load()
        #expect(store.messages.contains { $0.body.string == "Did you get my job?" })
        // The retried event is the original one: feeding the first feed again skips it as a replay.
        let replay = try importing([name, "--reject-to", "rejects.jsonl", "--json"])
        #expect(replay.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as? [String: Any])
        #expect(report["skipped"] as? Int == 3 && report["valid"] as? Int == 0 && report["rejected_to"] as? String == "rejects.jsonl")
        // The lines it refuses again are in the reject file already: not added twice.
        let kept = try String(contentsOf: scratch.url.appendingPathComponent("rejects.jsonl"), encoding: .utf8)
        #expect(kept.split(separator: "\n").count == 2, "\(kept)")
    }

    @Test func aRejectFileThatIsNotAFileIsRefusedBeforeAnything() throws {
        let name = try feed("one.jsonl", [event("x1", "contact.received", ["contact": ["id": "cx1", "email": "x@example.com"]])])
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("adir"), withIntermediateDirectories: false)
        let before = try storeBytes()
        let result = try importing([name, "--reject-to", "adir"])
        #expect(result.status == 2)
        #expect(result.stderr == "jobrules: --reject-to adir: a directory, not a file lines can be added to\n")
        #expect(try storeBytes() == before)
    }

    /// Appending refused lines to the store, its log or its lock would break
    /// the store: every spelling of them is refused before anything is read.
    @Test func aRejectFileIsNeverOneOfTheStoresOwnFiles() throws {
        let name = try feed("mixed.jsonl", [
            event("c1", "contact.received", ["contact": ["id": "cr1", "email": "r@example.com"]]),
            event("bad", "message.received", ["job": "J-9999", "body": "hello"]),
        ])
        #expect(try jobrules.run(["run", "--dry-run", "--now", now], in: scratch.url).status == 0)  // makes the lock file
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("sub"), withIntermediateDirectories: false)
        try FileManager.default.linkItem(atPath: storePath, toPath: scratch.url.appendingPathComponent("link.json").path)
        let before = try storeBytes()
        for target in ["store.json", "./store.json", "sub/../store.json", "store.json.audit.jsonl", "store.json.lock", ".store.json.tmp-7", "link.json"] {
            let result = try importing([name, "--reject-to", target])
            #expect(result.status == 2, "\(target): \(result.stderr)")
            #expect(result.stderr.contains("--reject-to \(target) is one of the store's own files"), "\(target): \(result.stderr)")
            #expect(try storeBytes() == before, "\(target)")
            #expect(!FileManager.default.fileExists(atPath: storePath + ".audit.jsonl"), "\(target)")
        }
        #expect(try jobrules.run(["run", "--dry-run", "--now", now], in: scratch.url).status == 0)

        // Through a link to a store elsewhere: its files are those beside the store.
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("real"), withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: storePath, toPath: scratch.url.appendingPathComponent("real/store.json").path)
        try FileManager.default.createSymbolicLink(
            atPath: scratch.url.appendingPathComponent("linked.json").path, withDestinationPath: "real/store.json")
        for target in ["real/store.json.audit.jsonl", "real/.store.json.tmp-9", "linked.json"] {
            let result = try importing([name, "--store", "linked.json", "--reject-to", target])
            #expect(result.status == 2, "\(target): \(result.stderr)")
            #expect(result.stderr.contains("is one of the store's own files"), "\(target): \(result.stderr)")
        }
    }

    /// A reject file edited by hand (its last newline gone) still gets whole
    /// records, each on its own line; distinct lines that aren't UTF-8 are
    /// kept apart.
    @Test func aRejectFileEditedByHandStillTakesWholeRecords() throws {
        try scratch.write("rejects.jsonl", #"{"rejected":{"feed":"x","line":1,"at":"2026-11-21T09:00:00Z","reason":"r"},"text":"{}"}"#)
        var bytes = Data()
        for byte: UInt8 in [0xE9, 0xE8] {
            bytes.append(contentsOf: Data(#"{"event":"u\#(byte)","type":"contact.received","at":"2026-11-21T09:10:00Z","contact":{"id":"c\#(byte)","email":"u@example.com","name":"Caf"#.utf8))
            bytes.append(byte)
            bytes.append(contentsOf: Data("\"}}\n".utf8))
        }
        try bytes.write(to: scratch.url.appendingPathComponent("latin1.jsonl"))
        let result = try importing(["latin1.jsonl", "--reject-to", "rejects.jsonl"])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = try String(contentsOf: scratch.url.appendingPathComponent("rejects.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3, "\(lines)")
        for line in lines { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)") }
        let again = try importing(["latin1.jsonl", "--reject-to", "rejects.jsonl"])
        #expect(again.status == 1)
        let kept = try String(contentsOf: scratch.url.appendingPathComponent("rejects.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(kept.count == 5, "altered records match no line: both kept again")
    }

    /// A refused line that isn't UTF-8 can't be kept as it is in a JSON
    /// record: the record says so, and is refused when fed back until
    /// corrected, rather than applied with the bytes replaced.
    @Test func aRecordThatCannotKeepItsLineExactlyIsNotAppliedAsItIs() throws {
        let good = #"{"event":"u1","type":"contact.received","at":"2026-11-21T09:10:00Z","contact":{"id":"cu1","email":"u@example.com","name":"Caf"#
        var bytes = Data(good.utf8)
        bytes.append(0xE9)
        bytes.append(contentsOf: Data("\"}}\n".utf8))
        try bytes.write(to: scratch.url.appendingPathComponent("latin1.jsonl"))
        let first = try importing(["latin1.jsonl", "--reject-to", "rejects.jsonl"])
        #expect(first.status == 1, "\(first.stderr)")
        let record = try String(contentsOf: scratch.url.appendingPathComponent("rejects.jsonl"), encoding: .utf8)
        #expect(record.contains(#""altered":"the line was not valid UTF-8: its invalid bytes are U+FFFD here""#), "\(record)")
        try FileManager.default.moveItem(
            at: scratch.url.appendingPathComponent("rejects.jsonl"), to: scratch.url.appendingPathComponent("retry.jsonl"))
        let again = try importing(["retry.jsonl"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("this record's text is not the refused line as it was"), "\(again.stderr)")
        #expect(try !load().contacts.contains { $0.id == "cu1" })
        // Corrected by hand (the flag removed), it goes in.
        let fixed = record.replacingOccurrences(of: "\u{FFFD}", with: "é")
            .replacingOccurrences(of: #","altered":"the line was not valid UTF-8: its invalid bytes are U+FFFD here""#, with: "")
        try scratch.write("fixed.jsonl", fixed)
        let corrected = try importing(["fixed.jsonl"])
        #expect(corrected.status == 0, "\(corrected.stderr)")
        #expect(try load().contacts.first { $0.id == "cu1" }?.name == "Café")
        // An event of the marketplace's with members of its own named `rejected` or `text` is an event.
        let own = try feed("own.jsonl", [event("u2", "contact.received", ["contact": ["id": "cu2", "email": "v@example.com"], "rejected": false, "text": 3])])
        let plain = try importing([own])
        #expect(plain.status == 0, "\(plain.stderr)")
    }

    /// A feed that arrives late: a merchant's message older than the team's
    /// latest reply answers nothing; the job follows its messages in time.
    @Test func aLateMessageDoesNotUndoALaterReply() throws {
        // J-1013 was created 200 hours before the store's clock (09:00): the
        // merchant wrote 2 hours after, the team answered 4 hours after.
        let earlier = try importing([try feed("late.jsonl", [
            event("late1", "message.received", at: "2026-11-13T04:00:00Z", ["job": "J-1013", "body": "Any update?"]),
        ])])
        #expect(earlier.status == 0, "\(earlier.stderr)")
        var store = try load()
        var job = store.jobs[try #require(store.job("J-1013"))]
        #expect(job.status == .responded, "the team's reply came after this message")
        let script = "local j = jobs.get('J-1013') print(j.status, j.last_message.from, j.last_message.body)"
        let shown = try jobrules.run(["exec", "-e", script, "--now", now, "--dry-run"], in: scratch.url)
        #expect(shown.stdout.hasPrefix("responded\tmember:m2\t"), "\(shown.stdout)\(shown.stderr)")
        // A message after the reply is awaited.
        let later = try importing([try feed("later.jsonl", [
            event("late2", "message.received", at: "2026-11-21T09:05:00Z", ["job": "J-1013", "body": "Can we start Monday?"]),
        ])])
        #expect(later.status == 0, "\(later.stderr)")
        store = try load()
        job = store.jobs[try #require(store.job("J-1013"))]
        #expect(job.status == .awaitingResponse)
    }

    @Test func replaysAndOverlappingFeedsAreSkipped() throws {
        let all = (1...8).map { event("r\($0)", "contact.received", ["contact": ["id": "cr\($0)", "email": "r\($0)@example.com"]]) }
        let first = try importing([try feed("a.jsonl", Array(all[0..<5]))])
        #expect(first.stdout.contains("a.jsonl: 5 events: 5 applied, 0 skipped"))
        let afterFirst = try storeBytes()
        // The same file again: everything skipped, nothing written.
        let again = try importing(["a.jsonl"])
        #expect(again.status == 0)
        #expect(again.stdout.contains("nothing to change (revision 1)"))
        #expect(again.stdout.contains("a.jsonl: 5 events: 0 applied, 5 skipped (already applied), 0 refused"))
        #expect(try storeBytes() == afterFirst)
        // A feed overlapping the last: only the new events.
        let overlap = try importing([try feed("b.jsonl", Array(all[3..<8]))])
        #expect(overlap.stdout.contains("b.jsonl: 5 events: 3 applied, 2 skipped (already applied), 0 refused"))
        let store = try load()
        #expect(store.revision == 2)
        #expect(store.appliedEvents == (1...8).map { "r\($0)" })
        #expect(store.contacts.count == 2 + 8)
        // An event twice in one feed: applied once.
        let r9 = event("r9", "contact.received", ["contact": ["id": "cr9", "email": "x@example.com"]])
        let twice = try importing([try feed("c.jsonl", [all[0], r9, r9])])
        #expect(twice.stdout.contains("c.jsonl: 3 events: 1 applied, 2 skipped (already applied), 0 refused"))
        #expect(try load().contact("cr9") != nil)
    }

    @Test func standardInputDryRunAndJSON() throws {
        let line = String(decoding: try JSONSerialization.data(withJSONObject: event("s1", "message.received", ["job": "J-1013", "body": "Ping"]), options: [.sortedKeys]), as: UTF8.self)
        let before = try storeBytes()
        // A dry run checks and plans, and writes nothing.
        let dry = try importing(["-", "--dry-run"], input: line + "\n")
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("store.json at 2026-11-21T09:30:00Z (dry run: nothing written)"))
        #expect(dry.stdout.contains("standard input: 1 event: 1 to apply, 0 skipped (already applied), 0 refused"))
        #expect(dry.stdout.contains("~ job J-1013  (import:s1)"))
        #expect(dry.stdout.contains("status: \"responded\" → \"awaiting_response\""))
        #expect(try storeBytes() == before)
        #expect(!FileManager.default.fileExists(atPath: storePath + ".audit.jsonl"))
        // Piped in for real, with the JSON report.
        let piped = try importing(["-", "--json"], input: line + "\n")
        #expect(piped.status == 0, "\(piped.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(piped.stdout.utf8)) as? [String: Any])
        #expect(report["feed"] as? String == "standard input")
        #expect(report["saved"] as? Bool == true)
        #expect(report["applied"] as? Int == 1 && report["skipped"] as? Int == 0 && report["refused"] as? Int == 0)
        #expect((report["types"] as? [String: [String: Int]])?["message.received"] == ["valid": 1, "applied": 1, "skipped": 0, "refused": 0])
        #expect((report["plan"] as? [Any])?.isEmpty == true, "the plan comes with --dry-run only")
        let dryJSON = try importing(["-", "--json", "--dry-run"], input: line + "\n{\"event\":\"s3\",\"type\":\"message.received\",\"at\":\"2026-11-21T09:20:00Z\",\"job\":\"J-1013\",\"body\":\"Again\"}\n")
        let dryReport = try #require(try JSONSerialization.jsonObject(with: Data(dryJSON.stdout.utf8)) as? [String: Any])
        #expect((dryReport["plan"] as? [Any])?.isEmpty == false)
        #expect(dryReport["skipped"] as? Int == 1 && dryReport["valid"] as? Int == 1 && dryReport["applied"] as? Int == 0)
        #expect(dryReport["saved"] as? Bool == false)
        #expect(try load().appliedEvents == ["s1"])
        // A refused feed in JSON: every bad line with its number; exit 2.
        let bad = try importing(
            ["-", "--json"],
            input: line + "\n{\"event\":\"s2\",\"type\":\"order.completed\",\"at\":\"2026-11-21T09:00:00Z\",\"order\":\"O-6\"}\n"
                + "{\"event\":\"s4\",\"type\":\"contact.received\",\"at\":\"2026-11-21T09:00:00Z\",\"contact\":{\"id\":\"c4\",\"email\":\"a@example.com\"}}\n")
        #expect(bad.status == 2)
        let refused = try #require(try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any])
        let errors = try #require(refused["errors"] as? [[String: Any]])
        #expect(errors.count == 1 && errors[0]["line"] as? Int == 2 && errors[0]["event"] as? String == "s2")
        #expect(refused["saved"] as? Bool == false && refused["skipped"] as? Int == 1)
        // Valid lines of a refused feed are named so: none of them was applied.
        #expect(refused["valid"] as? Int == 1 && refused["applied"] as? Int == 0 && refused["refused"] as? Int == 1)
    }

    @Test func importTakesTheStoreLockLikeRun() throws {
        let lock = try JSONStoreFile(path: storePath).lock(timeout: 1)
        defer { lock.unlock() }
        let before = try storeBytes()
        let result = try importing([try feed("l.jsonl", [event("l1", "message.received", ["job": "J-1013", "body": "x"])]), "--lock-timeout", "0.2"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("is locked by another jobrules process (held by pid \(getpid()))"))
        #expect(try storeBytes() == before)
    }

    @Test func anUnreadableFeedIsAUsageError() throws {
        let result = try importing(["missing.jsonl"])
        #expect(result.status == 2)
        #expect(result.stderr == "jobrules: cannot read 'missing.jsonl': No such file or directory\n")
    }
}
