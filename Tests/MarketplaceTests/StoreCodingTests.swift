import Foundation
import Marketplace
import Testing

/// Reading and writing the store's JSON, in memory.
@Suite struct StoreCodingTests {
    static func decode(_ text: String) throws -> Store {
        let bytes = Array(text.utf8)
        let source = SourceBytes.copying(bytes)
        return try Store.decode(source, count: bytes.count)
    }

    static func problems(_ text: String) -> [String] {
        do {
            _ = try decode(text)
            return []
        } catch let StoreDecodingError.invalid(problems, _) {
            return problems.map(\.description)
        } catch let StoreDecodingError.syntax(line, column, message) {
            return ["\(line):\(column): \(message)"]
        } catch {
            return ["\(error)"]
        }
    }

    @Test func sampleRoundTripsByteForByte() throws {
        let sample = Store.sample(now: 1_795_770_000)
        let text = String(decoding: sample.encoded(), as: UTF8.self)
        let loaded = try Self.decode(text)
        #expect(loaded.jobs.count == 30)
        #expect(String(decoding: loaded.encoded(), as: UTF8.self) == text)
    }

    @Test func unknownFieldsSurviveEvenOnChangedObjects() throws {
        var text = String(decoding: Store.sample(now: 1_795_770_000).encoded(), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"format\": \"jobrules-store\",", with: "\"format\": \"jobrules-store\",\n  \"crm\": {\"synced\": [1, 2.5, \"x\"]},")
        text = text.replacingOccurrences(
            of: "{\"id\":\"J-1001\",", with: "{\"id\":\"J-1001\",\"x-priority\":{\"score\":0.75},\"crm_id\":\"abc\\u00e9\",")
        text = text.replacingOccurrences(
            of: "\"budget\":{\"min\":500,\"max\":2000,\"currency\":\"USD\"}", with: "\"budget\":{\"min\":500,\"max\":2000,\"currency\":\"USD\",\"negotiable\":true}")
        text = text.replacingOccurrences(of: "\"works_with_dropshippers\":false,", with: "\"works_with_dropshippers\":false,\"timezone\":\"Europe/Paris\",")
        let store = try Self.decode(text)
        let j = try #require(store.job("J-1001"))
        try store.open(job: j, at: 1_795_770_100)
        try store.setPreference("available", .flag(false))
        let saved = String(decoding: store.encoded(), as: UTF8.self)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(saved.utf8)) as? [String: Any])
        #expect((json["crm"] as? [String: Any])?["synced"] as? [AnyHashable] == [1, 2.5, "x"])
        let job = try #require((json["jobs"] as? [[String: Any]])?.first)
        #expect(job["status"] as? String == "opened")
        #expect(job["crm_id"] as? String == "abcé")
        #expect((job["x-priority"] as? [String: Any])?["score"] as? Double == 0.75)
        #expect((job["budget"] as? [String: Any])?["negotiable"] as? Bool == true)
        let preferences = try #require((json["agency"] as? [String: Any])?["preferences"] as? [String: Any])
        #expect(preferences["timezone"] as? String == "Europe/Paris")
        #expect(preferences["available"] as? Bool == false)
        // And once more: what was written reads back the same.
        #expect(String(decoding: try Self.decode(saved).encoded(), as: UTF8.self) == saved)
    }

    @Test func objectsGivenToAnotherStoreAreWrittenFromTheirFields() throws {
        let text = String(decoding: Store.sample(now: 1_795_770_000).encoded(), as: UTF8.self)
        let loaded = try Self.decode(text)
        let copy = Store(
            agency: loaded.agency, members: loaded.members, merchants: loaded.merchants, jobs: loaded.jobs, messages: loaded.messages,
            contacts: loaded.contacts, orders: loaded.orders, outbox: loaded.outbox, stats: loaded.stats)
        #expect(String(decoding: copy.encoded(), as: UTF8.self) == text)
        let other = Store(agency: loaded.agency, members: loaded.members, merchants: loaded.merchants)
        try other.add(job: loaded.jobs[11])
        try other.add(order: loaded.orders[6])
        let reread = try Self.decode(String(decoding: other.encoded(), as: UTF8.self))
        #expect(reread.jobs.map(\.id) == ["J-1012"])
        #expect(reread.jobs[0].notes.map(\.text.string) == loaded.jobs[11].notes.map(\.text.string))
        #expect(reread.jobs[0].budget == loaded.jobs[11].budget)
        #expect(reread.orders.first?.extensionRequests == loaded.orders[6].extensionRequests)
    }

    @Test func everyProblemIsReportedWithItsPath() throws {
        var text = String(decoding: Store.sample(now: 1_795_770_000).encoded(), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"id\":\"J-1003\",\"source\":\"match\"", with: "\"id\":\"J-1003\",\"source\":\"email\"")
        text = text.replacingOccurrences(of: "\"id\":\"J-1004\",\"source\":\"match\",\"merchant\":\"mer4\"", with: "\"id\":\"J-1004\",\"source\":\"match\",\"merchant\":\"mer99\"")
        text = text.replacingOccurrences(of: "\"status\":\"opened\",", with: "\"status\":\"opne\",")
        let problems = Self.problems(text)
        #expect(problems.contains("jobs[2].source: unknown source \"email\" (expected \"match\", \"direct\")"))
        #expect(problems.contains { $0.hasPrefix("jobs[7].status: unknown status \"opne\" (expected \"new\", \"opened\"") })
        #expect(problems.count >= 5)
    }

    @Test func referencesAreCheckedOnceTheRestIsValid() throws {
        var text = String(decoding: Store.sample(now: 1_795_770_000).encoded(), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"merchant\":\"mer4\"", with: "\"merchant\":\"mer99\"")
        text = text.replacingOccurrences(of: "\"assignees\":[\"m2\"]", with: "\"assignees\":[\"m42\"]")
        text = text.replacingOccurrences(of: "{\"id\":\"msg1\",\"job\":\"J-1002\"", with: "{\"id\":\"msg1\",\"job\":\"J-0\"")
        let problems = Self.problems(text)
        #expect(problems.contains("jobs[3].merchant: unknown merchant \"mer99\""))
        #expect(problems.contains("jobs[7].assignees[0]: unknown member \"m42\""))
        #expect(problems.contains("messages[0].job: unknown job \"J-0\""))
    }

    @Test func problemsStopAtTheCap() throws {
        let text = String(decoding: Store.sample(now: 1_795_770_000).encoded(), as: UTF8.self)
            .replacingOccurrences(of: ":00Z\"", with: ":00\"")
        do {
            _ = try Self.decode(text)
            Issue.record("decoded")
        } catch let StoreDecodingError.invalid(problems, more) {
            #expect(problems.count == 100)
            #expect(more)
        }
    }

    @Test func syntaxErrorsGiveLineAndColumn() {
        #expect(Self.problems("{\n  \"format\": \"jobrules-store\",\n  \"version\": 1 \"x\"\n}") == ["3:16: unexpected '\"', expected ',' or '}' after an object member"])
        #expect(Self.problems("{\"a\": [1, 2}") == ["1:12: unexpected '}', expected ',' or ']'"])
        #expect(Self.problems("{\"a\": \"\u{1}\"}") == ["1:8: control character 0x1 in a string (escape it)"])
        #expect(Self.problems("{\"a\": 01}") == ["1:7: invalid number (leading zero)"])
        #expect(Self.problems("{\"a\": \"\\ud800\"}") == ["1:8: unpaired surrogate \\uD800 in a string"])
        #expect(Self.problems("{\"a\": tru}") == ["1:7: invalid literal, expected true"])
        #expect(Self.problems("{} x") == ["1:4: unexpected data after the store's closing '}'"])
    }

    /// A store big enough that its messages are read on a second core.
    static let large: String = {
        let store = Store.sample(now: 1_795_770_000)
        let body = String(repeating: "Could you also look at the collection filters? ", count: 6)
        for k in 0..<60_000 {
            _ = try? store.receiveMerchantMessage(job: k % 7, body: Text("\(k): \(body)"), at: 1_795_770_000 + Int64(k))
        }
        return String(decoding: store.encoded(), as: UTF8.self)
    }()

    @Test func largeStoresReadMessagesInParallelWithTheSameResult() throws {
        let text = Self.large
        #expect(text.utf8.count > 16 << 20)
        let store = try Self.decode(text)
        #expect(store.messages.count > 60_000)
        #expect(store.messages.last?.body.string.hasPrefix("59999: Could you") == true)
        #expect(String(decoding: store.encoded(), as: UTF8.self) == text)
    }

    @Test func aMessagesLineThatIsNotTheTopLevelKeyIsReadInOrder() throws {
        // The first line `  "messages": [` belongs to another object: the second core's read is thrown away.
        let text = Self.large.replacingOccurrences(of: "\n  \"contacts\": [", with: "\n  \"crm\": {\n  \"messages\": [1, 2]\n  },\n  \"contacts\": [")
            .replacingOccurrences(of: "\n  \"messages\": [\n", with: "\n  \"inbox\": {\n  \"messages\": [\"a\"]\n  },\n  \"messages\": [\n")
        let store = try Self.decode(text)
        #expect(store.messages.count > 60_000)
        let saved = String(decoding: store.encoded(), as: UTF8.self)
        #expect(saved.contains("\"inbox\": {\n  \"messages\": [\"a\"]\n  }"))
        #expect(saved.contains("\"crm\": {\n  \"messages\": [1, 2]\n  }"))
    }

    @Test func problemsInParallelReadMessagesKeepTheirPaths() throws {
        var text = Self.large
        let broken = try #require(text.range(of: "\"from\":\"merchant\"", options: .backwards))
        text.replaceSubrange(broken, with: "\"from\":\"nobody\"")
        let problems = Self.problems(text)
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("messages[") == true)
        #expect(problems.first?.hasSuffix(".from: unknown author \"nobody\" (expected \"merchant\" or \"member:<id>\")") == true)
        let syntax = Self.problems(Self.large.replacingOccurrences(of: "\"body\":\"59999: ", with: "\"body\":59999: "))
        #expect(syntax.count == 1)
        #expect(syntax.first?.contains(": unexpected ':', expected ',' or '}' after an object member") == true)
    }

    @Test func referencesOfParallelReadMessagesAreCheckedWithTheirPaths() throws {
        // The last message gets the first one's id, a job and an author that don't exist.
        let last = try Self.decode(Self.large).messages.count - 1
        let parts = Self.large.components(separatedBy: "\n  \"contacts\": [")
        try #require(parts.count == 2)
        let start = try #require(parts[0].range(of: #"{"id":"msg"#, options: .backwards)).lowerBound
        let message = String(parts[0][start...])
            .replacingOccurrences(of: #""id":"msg[0-9]+""#, with: #""id":"msg1""#, options: .regularExpression)
            .replacingOccurrences(of: #""job":"[^"]+""#, with: #""job":"J-404""#, options: .regularExpression)
            .replacingOccurrences(of: #""from":"merchant""#, with: #""from":"member:m404""#)
        #expect(Self.problems(parts[0][..<start] + message + "\n  \"contacts\": [" + parts[1]) == [
            "messages[\(last)].id: duplicate id \"msg1\"",
            "messages[\(last)].job: unknown job \"J-404\"",
            "messages[\(last)].from: unknown member \"m404\"",
        ])
    }

    @Test func stringsAreEscapedWhereverTheCharacterFalls() {
        // Each character that needs an escape, and some that don't, at every
        // offset of strings shorter and longer than the eight bytes checked at once.
        for special in ["\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{1}", "\u{1f}", " ", "é", "\u{7f}", "~"] {
            for length in 0...20 {
                for at in 0...length {
                    var s = String(repeating: "abcdefgh", count: 3).prefix(length)
                    s.insert(contentsOf: special, at: s.index(s.startIndex, offsetBy: at))
                    // As shown, DEL is escaped too (the store keeps it raw, as JSON allows).
                    #expect(ChangeValue.string(String(s)).description == JSON.quote(String(s)).replacing("\u{7f}", with: "\\u007f"))
                }
            }
        }
    }

    @Test func rfc3339() {
        #expect(RFC3339.parse("2026-11-21T09:30:00Z") == 1_795_253_400)
        #expect(RFC3339.parse("2026-11-21T10:30:00.250+01:00") == 1_795_253_400)
        #expect(RFC3339.parse("2024-02-29T00:00:00Z") != nil)
        #expect(RFC3339.parse("2026-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("2026-11-21 09:30:00Z") == nil)
        #expect(RFC3339.parse("2026-11-21T09:30:00") == nil)
        #expect(RFC3339.format(1_795_253_400) == "2026-11-21T09:30:00Z")
        #expect(RFC3339.format(-1) == "1969-12-31T23:59:59Z")
    }
}
