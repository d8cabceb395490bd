/// The kinds of marketplace event `jobrules import` takes (docs/import.md).
public enum ImportEventType: String, Sendable, CaseIterable {
    case jobReceived = "job.received"
    case messageReceived = "message.received"
    case jobDeclinedByMerchant = "job.declined_by_merchant"
    case contactReceived = "contact.received"
    case orderPlaced = "order.placed"
    case orderRequirementsSubmitted = "order.requirements_submitted"
    case orderCompleted = "order.completed"
    case orderCanceled = "order.canceled"
    case extensionAnswered = "extension.answered"
}

/// One line of a feed, read and checked on its own (references are checked
/// when it is applied to a store).
public struct ImportEvent: Sendable {
    /// The feed's id for the event: applying an id twice is skipped.
    public let id: String
    public let type: ImportEventType
    public let at: UnixTime
    /// 1-based line in the feed.
    public let line: Int
    let payload: Payload
    /// What the whole line says (`EventDigest`): the id seen again with
    /// another digest is another event under a taken id.
    public internal(set) var digest: UInt64 = 0

    /// A digest as the store keeps it: 16 hex digits.
    public static func hex(_ digest: UInt64) -> String {
        let digits = String(digest, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    enum Payload: Sendable {
        case job(Job, merchant: Merchant)
        case message(job: String, body: Text)
        case merchantDecline(job: String, reason: String)
        case contact(Contact)
        case order(Order)
        case orderAction(order: String)
        case cancel(order: String, by: CanceledBy)
        case extensionAnswer(order: String, accepted: Bool)
    }
}

/// What is wrong with one line of a feed.
public struct ImportProblem: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    /// The event's id and type, when the line got that far.
    public let event: String?
    public let type: String?
    public let message: String

    public var description: String {
        var s = "line \(line)"
        if let type { s += ": \(type)" }
        if let event { s += " \(ChangeValue.string(event))" }
        return s + ": " + message
    }
}

/// A feed read line by line: its events in order, and every bad line.
public struct ImportFeed: Sendable {
    public internal(set) var events: [ImportEvent] = []
    public internal(set) var problems: [ImportProblem] = []
    /// Lines holding an event (blank lines apart).
    public internal(set) var lineCount = 0

    /// Reads `count` bytes of JSON Lines: one event object a line; blank lines are skipped.
    public static func read(_ source: SourceBytes, count: Int) -> ImportFeed {
        var feed = ImportFeed()
        let bytes = UnsafeRawBufferPointer(rebasing: source.buffer[0..<count])
        var start = 0
        var line = 1
        while start < count {
            var end = start
            while end < count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            if bytes[start..<end].contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
                feed.lineCount += 1
                feed.readLine(source, from: start, to: end, line: line)
            }
            start = end + 1
            line += 1
        }
        return feed
    }

    private mutating func readLine(_ source: SourceBytes, from start: Int, to end: Int, line: Int, unwrapped: Bool = false) {
        var d = StoreDecoder(source: source, count: end)
        d.r.pos = start
        var fields = EventFields()
        do throws(JSONSyntaxError) {
            d.r.skipWhitespace()
            let kind = try d.r.kind()
            guard kind == .object else {
                try d.r.skipValue(depth: 0)  // not JSON at all: says where
                throw d.r.fail("an event is a JSON object, not \(kind.rawValue)", at: start)
            }
            fields = try d.eventFields()
            d.r.skipWhitespace()
            if !d.r.atEnd { throw d.r.fail("unexpected data after the event's closing '}' (one event a line)") }
        } catch {
            let column = error.offset - start + 1
            problems.append(ImportProblem(
                line: line, event: fields.id, type: fields.typeName,
                message: "invalid JSON at column \(column): " + error.message.replacing("end of file", with: "end of the line")))
            return
        }
        if fields.isRejectRecord, d.problems.isEmpty, !d.moreProblems, let text = fields.rejectedText {
            // A reject file fed back: its record stands for the refused line, read as if it were here.
            guard !unwrapped else {
                problems.append(ImportProblem(line: line, event: nil, type: nil, message: "the text of a rejected line is itself a rejected line"))
                return
            }
            let inner = SourceBytes.copying(Array(text.utf8))
            readLine(inner, from: 0, to: text.utf8.count, line: line, unwrapped: true)
            return
        }
        let event = d.event(fields, line: line)
        if !d.problems.isEmpty || d.moreProblems {
            for p in d.problems {
                problems.append(ImportProblem(line: line, event: fields.id, type: fields.typeName, message: p.description))
            }
            return
        }
        if let event {
            events.append(event)
            events[events.count - 1].digest = EventDigest.of(UnsafeRawBufferPointer(rebasing: source.buffer[start..<end]))
        }
    }
}

/// An event's members as read, before its type says which it needs.
struct EventFields {
    var id: String?
    var typeName: String?
    var type: ImportEventType?
    var at: UnixTime?
    /// `job`, `contact`, `order` given as objects (their reading is done) or as ids.
    var job: Job?
    var jobID: String?
    /// The merchant id a received job names (it must be the event's merchant's).
    var jobMerchant: String?
    var merchant: Merchant?
    var contact: Contact?
    var order: Order?
    var orderID: String?
    var body: Text?
    var reason: String?
    var by: CanceledBy?
    var accepted: Bool?
    /// A line of a reject file (`RejectedLines`): the refused line's own text.
    var rejectedText: String?
    /// `rejected` is an object: with no `event` or `type`, the line is a reject file's record.
    var rejectedIsObject = false
    /// Why a record's text is not exactly the refused line (`altered`), if it isn't.
    var altered: String?
    /// The members present, as bits of `Keys.event`.
    var seen: UInt64 = 0

    func has(_ key: EventKey) -> Bool { seen & (1 << UInt64(key.rawValue)) != 0 }

    /// A reject file's record rather than an event: an object `rejected` and
    /// no `event` or `type` (an event's own member named `rejected` is ignored).
    var isRejectRecord: Bool { rejectedIsObject && !has(.event) && !has(.type) }
}

/// An event's members, in the order of `Keys.event`.
enum EventKey: Int {
    case event, type, at, job, merchant, body, reason, contact, order, by, accepted, rejected, text, altered

    var name: StaticString { Keys.event.names[rawValue] }
}

extension Keys {
    static let event = Keys(
        ["event", "type", "at", "job", "merchant", "body", "reason", "contact", "order", "by", "accepted", "rejected", "text",
         "altered"])
    /// A received job: the marketplace's fields; what jobrules keeps itself is refused.
    static let receivedJob = Keys(
        ["id", "source", "service", "title", "details", "budget", "priorities", "created_at",
         "status", "merchant", "opened_at", "first_response_at", "assignees", "tags", "notes", "declined", "completed_at"],
        required: ["id", "source", "service"])
    static let receivedContact = Keys(["id", "name", "email", "message"], required: ["id", "email"])
    static let placedOrder = Keys(["id", "buyer", "service", "due_at"], required: ["id", "due_at"])
}

extension StoreDecoder {
    /// Reads an event object's members (the object is next).
    mutating func eventFields() throws(JSONSyntaxError) -> EventFields {
        var f = EventFields()
        guard var o = try beginObject() else { return f }
        while let k = try nextMember(.event, &o) {
            switch EventKey(rawValue: k) {
            case .event: f.id = try id()
            case .type:
                f.typeName = try string()
                if let name = f.typeName {
                    f.type = ImportEventType(rawValue: name)
                    if f.type == nil {
                        let known = ImportEventType.allCases.map { ChangeValue.string($0.rawValue).description }.joined(separator: ", ")
                        problem("unknown event type \(ChangeValue.string(name)) (expected one of \(known))")
                    }
                }
            case .at: f.at = try time()
            case .job:
                if try r.kind() == .object { (f.job, f.jobMerchant) = try receivedJob() } else { f.jobID = try id() }
            case .merchant: f.merchant = try merchant()
            case .body: f.body = try text()
            case .reason: f.reason = try freeString(limit: Limits.reasonBytes)
            case .contact: f.contact = try receivedContact()
            case .order:
                if try r.kind() == .object { f.order = try placedOrder() } else { f.orderID = try id() }
            case .by: f.by = try enumeration(CanceledBy.self, "cancellation")
            case .accepted: f.accepted = try bool()
            case .rejected:  // why it was refused, for people
                f.rejectedIsObject = try r.kind() == .object
                try r.skipValue(depth: path.count)
            case .text:
                if try r.kind() == .string { f.rejectedText = try freeString(limit: Limits.feedBytes) } else { try r.skipValue(depth: path.count) }
            case .altered:
                if try r.kind() == .string { f.altered = try freeString(limit: Limits.reasonBytes) } else { try r.skipValue(depth: path.count) }
            case nil: break  // unknown members of an event are ignored
            }
        }
        f.seen = o.seen
        _ = endObject(.event, o)
        // The members an event needs, unless it is a reject file's record of a line.
        if !f.isRejectRecord {
            for key in [EventKey.event, .type, .at] where !f.has(key) { problem("missing \"\(key.name)\"") }
        } else if f.rejectedText == nil {
            problem("a line of a reject file needs \"text\" (the refused line, a string)")
        } else if let altered = f.altered {
            problem(
                "this record's text is not the refused line as it was (\(altered)): correct the text and remove "
                    + "\"altered\" to feed it again")
        }
        return f
    }

    /// A received job: new, its merchant set when the event is applied.
    /// Also returns the id its `merchant` names, if it names one.
    mutating func receivedJob() throws(JSONSyntaxError) -> (Job?, merchant: String?) {
        guard var o = try beginObject() else { return (nil, nil) }
        var id: String?, source: JobSource?, service: String?, created: UnixTime?, merchant: String?
        var title: Text = "", details: Text = ""
        var budget: Budget?, priorities: Priorities?
        while let k = try nextMember(.receivedJob, &o) {
            switch k {
            case 0: id = try self.id()
            case 1: source = try enumeration(JobSource.self, "source")
            case 2: service = try self.id()
            case 3: title = try text() ?? ""
            case 4: details = try text() ?? ""
            case 5: if try !null() { budget = try self.budget() }
            case 6: if try !null() { priorities = try self.priorities() }
            case 7: created = try time()
            // The rest is the store's form of what a new job holds; what the
            // job would hold once jobrules has worked on it is refused.
            case 8:
                if let status = try enumeration(JobStatus.self, "status"), status != .new {
                    problem("a received job is new, not \(ChangeValue.string(status.rawValue)): its status is jobrules' to move")
                }
            case 9: merchant = try self.id()
            case 10, 11, 15, 16:
                if try !null() {
                    problem("a received job has not been worked on yet: this is null or absent (jobrules sets it)")
                    try r.skipValue(depth: path.count)
                }
            default:
                let what = ["assignees": "no assignees (rules assign it)", "tags": "no tags", "notes": "no notes"]
                let field = Keys.receivedJob.names[k].description
                try emptyList("a received job has \(what[field] ?? "nothing here") yet: this list is empty or absent")
            }
        }
        let (extras, _) = endObject(.receivedJob, o)
        guard let id, let source, let service else { return (nil, merchant) }
        var job = Job(
            lifecycle: JobLifecycle(id: id, status: .new, createdAt: created ?? Int64.min), source: source, merchant: -1,
            service: service, title: title, details: details, budget: budget, priorities: priorities)
        job.extras = extras
        return (job, merchant)
    }

    /// An array that must be empty: each element is a problem (`why`).
    mutating func emptyList(_ why: String) throws(JSONSyntaxError) {
        try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in
            d.problem(why)
            try d.r.skipValue(depth: d.path.count)
        }
    }

    mutating func receivedContact() throws(JSONSyntaxError) -> Contact? {
        guard var o = try beginObject() else { return nil }
        var id: String?, email: String?
        var name = ""
        var message: Text = ""
        while let k = try nextMember(.receivedContact, &o) {
            switch k {
            case 0: id = try self.id()
            case 1: name = try string() ?? ""
            case 2: email = try string()
            default: message = try text() ?? ""
            }
        }
        let (extras, _) = endObject(.receivedContact, o)
        guard let id, let email else { return nil }
        var c = Contact(id: id, name: name, email: email, at: 0, message: message)
        c.extras = extras
        return c
    }

    mutating func placedOrder() throws(JSONSyntaxError) -> Order? {
        guard var o = try beginObject() else { return nil }
        var id: String?, due: UnixTime?
        var buyer = "", service = ""
        while let k = try nextMember(.placedOrder, &o) {
            switch k {
            case 0: id = try self.id()
            case 1: buyer = try string() ?? ""
            case 2: service = try string() ?? ""
            default: due = try time()
            }
        }
        let (extras, _) = endObject(.placedOrder, o)
        guard let id, let due else { return nil }
        var order = Order(id: id, buyer: buyer, service: service, placedAt: 0, dueAt: due)
        order.extras = extras
        return order
    }

    /// The event its fields make, or nil after recording what is missing.
    mutating func event(_ f: EventFields, line: Int) -> ImportEvent? {
        guard let id = f.id, let type = f.type, let at = f.at else { return nil }
        func need(_ key: EventKey, _ what: String) {
            if !f.has(key) { problem("a \(type.rawValue) event needs \"\(key.name)\" (\(what))") }
        }
        let payload: ImportEvent.Payload?
        switch type {
        case .jobReceived:
            need(.job, "the job, an object")
            need(.merchant, "its merchant, an object")
            if f.jobID != nil { problem("\"job\" of a job.received event is the job itself, an object") }
            if let email = f.merchant?.email, !Limits.isEmailAddress(email) {
                problem("merchant.email: not an email address: \(ChangeValue.string(email))")
            }
            if let named = f.jobMerchant, let merchant = f.merchant, named != merchant.id {
                problem(
                    "job.merchant: \(ChangeValue.string(named)) is not the event's merchant "
                        + "\(ChangeValue.string(merchant.id)) (one of them is wrong)")
            }
            if var job = f.job, let merchant = f.merchant {
                if job.createdAt == Int64.min { job.lifecycle = JobLifecycle(id: job.id, status: .new, createdAt: at) }
                payload = .job(job, merchant: merchant)
            } else {
                payload = nil
            }
        case .messageReceived:
            need(.job, "the job's id")
            need(.body, "the merchant's message")
            payload = reference(.job, f).flatMap { job in f.body.map { .message(job: job, body: $0) } }
        case .jobDeclinedByMerchant:
            need(.job, "the job's id")
            need(.reason, "why the merchant declined")
            payload = reference(.job, f).flatMap { job in f.reason.map { .merchantDecline(job: job, reason: $0) } }
        case .contactReceived:
            need(.contact, "an object: id, name, email, message")
            if let email = f.contact?.email, !Limits.isEmailAddress(email) {
                problem("contact.email: not an email address: \(ChangeValue.string(email))")
            }
            if var contact = f.contact {
                contact.at = at
                payload = .contact(contact)
            } else {
                payload = nil
            }
        case .orderPlaced:
            need(.order, "an object: id, buyer, service, due_at")
            if f.orderID != nil { problem("\"order\" of an order.placed event is the order itself, an object") }
            if var order = f.order {
                order.placedAt = at
                payload = .order(order)
            } else {
                payload = nil
            }
        case .orderRequirementsSubmitted, .orderCompleted:
            need(.order, "the order's id")
            payload = reference(.order, f).map { .orderAction(order: $0) }
        case .orderCanceled:
            need(.order, "the order's id")
            need(.by, "\"mutual\" or \"support\"")
            payload = reference(.order, f).flatMap { order in f.by.map { .cancel(order: order, by: $0) } }
        case .extensionAnswered:
            need(.order, "the order's id")
            need(.accepted, "true or false")
            payload = reference(.order, f).flatMap { order in f.accepted.map { .extensionAnswer(order: order, accepted: $0) } }
        }
        guard let payload, problems.isEmpty else { return nil }
        return ImportEvent(id: id, type: type, at: at, line: line, payload: payload)
    }

    /// The id an event refers to with `key` (`.job` or `.order`); a problem
    /// when it gave an object there.
    private mutating func reference(_ key: EventKey, _ f: EventFields) -> String? {
        let (id, objectGiven) = key == .job ? (f.jobID, f.job != nil) : (f.orderID, f.order != nil)
        if objectGiven { problem("\"\(key.name)\" of a \(f.typeName ?? "") event is the \(key.name)'s id, a string") }
        return id
    }
}
