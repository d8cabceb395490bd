#if canImport(Glibc)
import Glibc
#endif

/// The store's objects as read, before references between them are resolved.
struct StoreDraft {
    var format: String?
    var version: Int64?
    var revision: Int64 = 0
    var agency: Agency?
    var agencyRaw: SourceSpan?
    var members: [Member] = []
    var merchants: [Merchant] = []
    var jobs: [Job] = []
    var jobMerchants: [String] = []
    var jobAssignees: [[String]] = []
    var messages: [Message] = []
    /// What `resolve` checks of the messages, gathered as they are read.
    var messageRefs = MessageRefs()
    var contacts: [Contact] = []
    var orders: [Order] = []
    var outbox: [OutboxEntry] = []
    var outboxJobs: [String?] = []
    var stats = Stats()
    var statsRaw: SourceSpan?
    var appliedEvents: [String] = []
    /// `applied_event_digests`: the content digest of applied events, by id.
    var digestsByEvent: [String: UInt64] = [:]
    var extras = Extras()
    /// The top-level members present, as bits of `Keys.top`.
    var topLevel: UInt64 = 0

    /// Fewer bytes than any valid job or message takes in a file, to bound how
    /// many a span of it can hold.
    static let smallestJob = 128
    static let smallestMessage = 64
}

extension Keys {
    static let top = Keys(
        ["format", "version", "revision", "agency", "members", "merchants", "jobs", "messages", "contacts", "orders", "outbox", "stats",
         "applied_events", "applied_event_digests"],
        required: ["format", "version", "agency"])
    static let agency = Keys(["name", "services", "preferences"], required: ["name"])
    static let service = Keys(["id", "name", "min_budget", "currency"], required: ["id"])
    static let preferences = Keys(["available", "listed_in_search", "works_with_dropshippers", "notification_email"])
    static let member = Keys(["id", "name", "email", "role", "services", "active"], required: ["id", "name", "email"])
    static let merchant = Keys(["id", "name", "store", "email", "dropshipper", "industry", "country"], required: ["id", "name"])
    static let job = Keys(
        ["id", "source", "merchant", "service", "title", "details", "budget", "priorities", "status", "created_at", "opened_at",
         "first_response_at", "assignees", "tags", "notes", "declined", "completed_at"],
        required: ["id", "source", "merchant", "service", "status", "created_at"])
    static let budget = Keys(["min", "max", "currency"])
    static let priorities = Keys(["time", "cost", "quality"])
    static let note = Keys(["author", "at", "text"], required: ["at", "text"])
    static let declined = Keys(["by", "at", "reason"], required: ["by", "at"])
    static let message = Keys(["id", "job", "from", "at", "body"], required: ["id", "job", "from", "at"])
    static let contact = Keys(["id", "name", "email", "at", "message"], required: ["id", "email", "at"])
    static let order = Keys(
        ["id", "buyer", "service", "status", "placed_at", "due_at", "delivered_at", "completed_at", "canceled",
         "extension_requests", "updates"],
        required: ["id", "status", "placed_at", "due_at"])
    static let canceled = Keys(["by", "at"], required: ["by", "at"])
    static let extensionRequest = Keys(["days", "reason", "at", "status", "answered_at"], required: ["days", "at", "status"])
    static let update = Keys(["at", "text"], required: ["at", "text"])
    static let outbox = Keys(["id", "to", "subject", "body", "job", "at"], required: ["id", "to", "at"])
    static let stats = Keys(["declines_by_service", "expired_by_service"])
}

extension StoreDecoder {
    /// Reads the whole document.
    mutating func document(prefetch: MessagesPrefetch? = nil) throws(JSONSyntaxError) -> StoreDraft {
        var draft = StoreDraft()
        var prefetch = prefetch
        defer { prefetch?.discard() }
        r.skipWhitespace()
        if r.bytes.count >= 3, r.bytes[0] == 0xEF, r.bytes[1] == 0xBB, r.bytes[2] == 0xBF {
            throw r.fail("the file starts with a byte-order mark: save it as UTF-8 without one")
        }
        guard !r.atEnd else { throw r.fail("the file is empty: a store is a JSON object") }
        let kind = try r.kind()
        guard kind == .object else { throw r.fail("a store is a JSON object, not \(kind.rawValue)") }
        guard var o = try beginObject() else { return draft }
        while let k = try nextMember(.top, &o) {
            switch k {
            case 0:
                draft.format = try string()
                if let f = draft.format, f != "jobrules-store" { problem("expected \"jobrules-store\", found \(ChangeValue.string(f))") }
            case 1:
                draft.version = try integer(in: 0...Limits.count)
                if let v = draft.version, v != 1 { problem("unsupported version \(v) (this jobrules reads version 1)") }
            case 2: draft.revision = try integer(in: 0...Limits.count) ?? 0
            case 3:
                if let (agency, raw) = try agency() {
                    draft.agency = agency
                    draft.agencyRaw = raw
                }
            case 4: try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in if let m = try d.member() { draft.members.append(m) } }
            case 5:
                try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in if let m = try d.merchant() { draft.merchants.append(m) } }
            case 6:
                // Room for as many jobs as the rest of the file could hold, as for messages.
                let most = (r.bytes.count - r.pos) / StoreDraft.smallestJob
                if most > draft.jobs.capacity {
                    draft.jobs.reserveCapacity(most)
                    draft.jobMerchants.reserveCapacity(most)
                    draft.jobAssignees.reserveCapacity(most)
                }
                try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in try d.job(into: &draft) }
            case 7:
                if let p = prefetch, p.keyOffset == o.keyStart, path.count == 1 {
                    prefetch = nil
                    try p.take(into: &self, &draft)
                } else {
                    try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in try d.message(into: &draft) }
                }
            case 8: try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in if let c = try d.contact() { draft.contacts.append(c) } }
            case 9: try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in if let x = try d.order() { draft.orders.append(x) } }
            case 10: try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in try d.outboxEntry(into: &draft) }
            case 11:
                if let (stats, raw) = try stats() {
                    draft.stats = stats
                    draft.statsRaw = raw
                }
            case 12:
                draft.appliedEvents = try strings() ?? []
                if Self.hasDuplicate(draft.appliedEvents) { problem("an event id is listed twice") }
            case 13: draft.digestsByEvent = try digests()
            default: break
            }
        }
        if o.seen & 1 == 0 {
            missingMember("format", ": this is not a jobrules store (expected \"format\": \"jobrules-store\")")
            o.seen |= 1
        }
        draft.topLevel = o.seen
        (draft.extras, _) = endObject(.top, o)
        r.skipWhitespace()
        if !r.atEnd { throw r.fail("unexpected data after the store's closing '}'") }
        return draft
    }

    /// `{"event id": "16 hex digits", …}`
    mutating func digests() throws(JSONSyntaxError) -> [String: UInt64] {
        try map("expected a digest (16 hex digits)") { value in
            guard value.count == 18, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\""),
                let digest = UInt64(String(decoding: value[1..<17], as: UTF8.self), radix: 16), digest != 0
            else { return nil }
            return digest
        }
    }

    /// An object whose keys are data (service ids, event ids), each value
    /// read by `value` from its bytes; a problem named `expected` at each
    /// value it refuses.
    mutating func map<Value>(_ expected: String, _ value: (UnsafeRawBufferPointer) -> Value?) throws(JSONSyntaxError) -> [String: Value] {
        var values: [String: Value] = [:]
        guard var o = try beginObject() else { return values }
        let none = Keys([])
        while try nextMember(none, &o) != nil {}
        let (members, _) = endObject(none, o)
        // Every key is "unknown" to the empty table: read them back.
        for m in members.members {
            let keyBytes = m.key.bytes
            let escaped = keyBytes.contains(UInt8(ascii: "\\"))
            let key = JSONText.decode(UnsafeRawBufferPointer(rebasing: keyBytes[1..<(keyBytes.count - 1)]), escaped: escaped)
            if let v = value(m.value.bytes) {
                values[key] = v
            } else {
                path.append(.span(start: m.key.span.start + 1, count: m.key.span.count - 2, escaped: escaped))
                problem(expected)
                path.removeLast()
            }
        }
        return values
    }

    // MARK: Agency

    mutating func agency() throws(JSONSyntaxError) -> (Agency, SourceSpan)? {
        guard var o = try beginObject() else { return nil }
        var name: String?
        var services: [Service] = []
        var preferences: Preferences?
        while let k = try nextMember(.agency, &o) {
            switch k {
            case 0: name = try string()
            case 1: try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in if let s = try d.service() { services.append(s) } }
            default: preferences = try self.preferences()
            }
        }
        if o.seen & 4 == 0 { missingMember("preferences") }
        let (extras, raw) = endObject(.agency, o)
        guard let name, let preferences else { return nil }
        var agency = Agency(name: name, services: services, preferences: preferences)
        agency.extras = extras
        return (agency, raw)
    }

    mutating func service() throws(JSONSyntaxError) -> Service? {
        guard var o = try beginObject() else { return nil }
        var id: String?
        var name: String?
        var minBudget: Double?
        var currency: String?
        while let k = try nextMember(.service, &o) {
            switch k {
            case 0: id = try self.id()
            case 1: name = try string()
            case 2: minBudget = try null() ? nil : number(in: 0...1e12)
            default: currency = try optionalString()
            }
        }
        let (_, raw) = endObject(.service, o)
        guard let id else { return nil }
        var s = Service(id: id, name: name ?? id, minBudget: minBudget, currency: currency)
        s.raw = raw
        return s
    }

    mutating func preferences() throws(JSONSyntaxError) -> Preferences? {
        guard var o = try beginObject() else { return nil }
        var p = Preferences(available: true, listedInSearch: true, worksWithDropshippers: false, notificationEmail: "")
        var ok = true
        while let k = try nextMember(.preferences, &o) {
            switch k {
            case 0: if let b = try bool() { p.available = b } else { ok = false }
            case 1: if let b = try bool() { p.listedInSearch = b } else { ok = false }
            case 2: if let b = try bool() { p.worksWithDropshippers = b } else { ok = false }
            default: if let e = try string() { p.notificationEmail = e } else { ok = false }
            }
        }
        (p.extras, _) = endObject(.preferences, o)
        return ok ? p : nil
    }

    // MARK: People

    mutating func member() throws(JSONSyntaxError) -> Member? {
        guard var o = try beginObject() else { return nil }
        var id: String?, name: String?, email: String?
        var role = "member"
        var services: [String] = []
        var active = true
        while let k = try nextMember(.member, &o) {
            switch k {
            case 0: id = try self.id()
            case 1: name = try string()
            case 2: email = try string()
            case 3: role = try string() ?? role
            case 4: services = try strings() ?? []
            default: active = try bool() ?? true
            }
        }
        let (extras, raw) = endObject(.member, o)
        guard let id, let name, let email else { return nil }
        var m = Member(id: id, name: name, email: email, role: role, services: services, active: active)
        m.raw = raw
        m.extras = extras
        return m
    }

    mutating func merchant() throws(JSONSyntaxError) -> Merchant? {
        guard var o = try beginObject() else { return nil }
        var m = Merchant(id: "", name: "")
        var ok = true
        while let k = try nextMember(.merchant, &o) {
            switch k {
            case 0: if let v = try id() { m.id = v } else { ok = false }
            case 1: if let v = try string() { m.name = v } else { ok = false }
            case 2: m.store = try optionalString()
            case 3: m.email = try optionalString()
            case 4: m.dropshipper = try bool() ?? false
            case 5: m.industry = try optionalString()
            default: m.country = try optionalString()
            }
        }
        (m.extras, m.raw) = endObject(.merchant, o)
        return ok && o.seen & Keys.merchant.required == Keys.merchant.required ? m : nil
    }

    mutating func contact() throws(JSONSyntaxError) -> Contact? {
        guard var o = try beginObject() else { return nil }
        var id: String?, email: String?, at: UnixTime?
        var name = ""
        var message: Text = ""
        while let k = try nextMember(.contact, &o) {
            switch k {
            case 0: id = try self.id()
            case 1: name = try string() ?? ""
            case 2: email = try string()
            case 3: at = try time()
            default: message = try text() ?? ""
            }
        }
        let (extras, raw) = endObject(.contact, o)
        guard let id, let email, let at else { return nil }
        var c = Contact(id: id, name: name, email: email, at: at, message: message)
        c.extras = extras
        c.raw = raw
        return c
    }

    // MARK: Jobs

    mutating func job(into draft: inout StoreDraft) throws(JSONSyntaxError) {
        guard var o = try beginObject() else { return }
        var id: String?, source: JobSource?, merchant: String?, service: String?, status: JobStatus?, created: UnixTime?
        var title: Text = "", details: Text = ""
        var budget: Budget?, priorities: Priorities?
        var opened: UnixTime??, firstResponse: UnixTime??, completed: UnixTime??
        var assignees: [String] = [], tags: [String] = [], notes: [Note] = []
        var declined: Decline??
        var ok = true
        while let k = try nextMember(.job, &o) {
            switch k {
            case 0: id = try self.id()
            case 1: source = try enumeration(JobSource.self, "source")
            case 2: merchant = try self.id()
            case 3: service = try self.id()
            case 4: title = try text() ?? ""
            case 5: details = try text() ?? ""
            case 6: if try !null() { budget = try self.budget() }
            case 7: if try !null() { priorities = try self.priorities() }
            case 8: status = try enumeration(JobStatus.self, "status")
            case 9: created = try time()
            case 10: opened = try optionalTime()
            case 11: firstResponse = try optionalTime()
            case 12:
                assignees = try strings() ?? []
                if Self.hasDuplicate(assignees) { problem("a member is assigned twice") }
            case 13:
                tags = try strings() ?? []
                if tags.count > Limits.tagsPerObject {
                    problem("\(tags.count) tags: a job has at most \(Limits.tagsPerObject)")
                } else if let bad = tags.first(where: { !Store.isTag($0) }) {
                    problem("bad tag \(ChangeValue.string(bad)): a tag is 1 to 64 characters without spaces or control characters")
                }
            case 14: try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in if let n = try d.note() { notes.append(n) } else { ok = false } }
            case 15: declined = try null() ? .some(nil) : self.decline().map { .some($0) }
            default: completed = try optionalTime()
            }
        }
        if let status {
            // `declined` is nil after a problem, .some(nil) for null, absent means null.
            let present = o.seen & (1 << 15) != 0
            path[path.count - 1] = .key("declined")
            if status == .declined, !present || declined == .some(nil) {
                problem("a declined job needs {\"by\", \"at\", \"reason\"}")
            } else if status != .declined, case .some(.some) = declined {
                problem("must be null unless the status is \"declined\" (it is \"\(status.rawValue)\")")
            }
        }
        let (extras, raw) = endObject(.job, o)
        guard ok, let id, let source, let merchant, let service, let status, let created,
            let opened = opened ?? .some(nil), let firstResponse = firstResponse ?? .some(nil),
            let completed = completed ?? .some(nil), let declined = declined ?? .some(nil)
        else { return }
        let lifecycle = JobLifecycle(
            id: id, status: status, createdAt: created, openedAt: opened, firstResponseAt: firstResponse, declined: declined,
            completedAt: completed)
        draft.jobs.append(Job(
            lifecycle: lifecycle, source: source, merchant: -1, service: service, title: title, details: details, budget: budget,
            priorities: priorities, tags: tags, notes: notes))
        draft.jobs[draft.jobs.count - 1].raw = raw
        if !extras.isEmpty { draft.jobs[draft.jobs.count - 1].extras = extras }
        draft.jobMerchants.append(merchant)
        draft.jobAssignees.append(assignees)
    }

    mutating func budget() throws(JSONSyntaxError) -> Budget? {
        guard var o = try beginObject() else { return nil }
        var b = Budget(min: nil, max: nil, currency: nil)
        while let k = try nextMember(.budget, &o) {
            switch k {
            case 0: b.min = try null() ? nil : number(in: 0...1e12)
            case 1: b.max = try null() ? nil : number(in: 0...1e12)
            default: b.currency = try optionalString()
            }
        }
        (_, b.raw) = endObject(.budget, o)
        if let min = b.min, let max = b.max, min > max {
            problem("min \(min) is above max \(max)")
        }
        return b
    }

    mutating func priorities() throws(JSONSyntaxError) -> Priorities? {
        guard var o = try beginObject() else { return nil }
        var p = Priorities(time: nil, cost: nil, quality: nil)
        while let k = try nextMember(.priorities, &o) {
            let level = try null() ? nil : enumeration(Priorities.Level.self, "priority")
            switch k {
            case 0: p.time = level
            case 1: p.cost = level
            default: p.quality = level
            }
        }
        (_, p.raw) = endObject(.priorities, o)
        return p
    }

    mutating func note() throws(JSONSyntaxError) -> Note? {
        guard var o = try beginObject() else { return nil }
        var author: String?, at: UnixTime?, text: Text?
        while let k = try nextMember(.note, &o) {
            switch k {
            case 0: author = try optionalString()
            case 1: at = try time()
            default: text = try self.text()
            }
        }
        let (_, raw) = endObject(.note, o)
        guard let at, let text else { return nil }
        var n = Note(author: author, at: at, text: text)
        n.raw = raw
        return n
    }

    mutating func decline() throws(JSONSyntaxError) -> Decline? {
        guard var o = try beginObject() else { return nil }
        var by: DeclinedBy?, at: UnixTime?
        var reason = ""
        while let k = try nextMember(.declined, &o) {
            switch k {
            case 0: by = try enumeration(DeclinedBy.self, "decliner")
            case 1: at = try time()
            default: reason = try null() ? "" : freeString(limit: Limits.reasonBytes) ?? ""
            }
        }
        let (_, raw) = endObject(.declined, o)
        guard let by, let at else { return nil }
        var d = Decline(by: by, at: at, reason: reason)
        d.raw = raw
        return d
    }

    // MARK: Messages and outbox

    mutating func message(into draft: inout StoreDraft) throws(JSONSyntaxError) {
        guard var o = try beginObject() else { return }
        var id: (token: StringToken, string: String)?, job: StringToken?, from: MessageAuthor?, at: UnixTime?
        var body: Text = ""
        while let k = try nextMember(.message, &o) {
            switch k {
            case 0: id = try idToken().map { ($0, decode($0)) }
            case 1: job = try idToken()
            case 2:
                if let t = try stringToken() {
                    from = author(t)
                    if from == nil { problem("unknown author \(ChangeValue.string(decode(t))) (expected \"merchant\" or \"member:<id>\")") }
                }
            case 3: at = try time()
            default: body = try text() ?? ""
            }
        }
        let (extras, raw) = endObject(.message, o)
        guard let id, let job, let from, let at else { return }
        let index = draft.messages.count
        // Appended first, then completed in place: appending a local would copy it.
        draft.messages.append(Message(id: id.string, job: -1, from: from, at: at, body: body))
        draft.messages[index].raw = raw
        if !extras.isEmpty { draft.messages[index].extras = extras }
        draft.messageRefs.add(index, id: id, job: job, from: from, in: r.bytes)
    }

    /// A message's author read from its bytes, without making the whole
    /// string first: `merchant` or `member:<id>`.
    func author(_ t: StringToken) -> MessageAuthor? {
        guard !t.escaped else { return MessageAuthor(stored: decode(t)) }
        let p = r.bytes.baseAddress.unsafelyUnwrapped + t.start
        if t.count == 8, memcmp(p, "merchant", 8) == 0 { return .merchant }
        guard t.count > 7, memcmp(p, "member:", 7) == 0 else { return nil }
        return .member(JSONText.decode(UnsafeRawBufferPointer(start: p + 7, count: t.count - 7), escaped: false))
    }

    mutating func outboxEntry(into draft: inout StoreDraft) throws(JSONSyntaxError) {
        guard var o = try beginObject() else { return }
        var id: String?, to: String?, at: UnixTime?
        var subject = ""
        var body: Text = ""
        var job: String?
        while let k = try nextMember(.outbox, &o) {
            switch k {
            case 0: id = try self.id()
            case 1: to = try string()
            case 2: subject = try string(limit: Limits.subjectBytes) ?? ""
            case 3: body = try text() ?? ""
            case 4: job = try optionalString()
            default: at = try time()
            }
        }
        let (extras, raw) = endObject(.outbox, o)
        guard let id, let to, let at else { return }
        draft.outbox.append(OutboxEntry(id: id, to: to, subject: subject, body: body, job: nil, at: at))
        draft.outbox[draft.outbox.count - 1].raw = raw
        if !extras.isEmpty { draft.outbox[draft.outbox.count - 1].extras = extras }
        draft.outboxJobs.append(job)
    }

    // MARK: Orders

    mutating func order() throws(JSONSyntaxError) -> Order? {
        guard var o = try beginObject() else { return nil }
        var id: String?, status: OrderStatus?, placed: UnixTime?, due: UnixTime?
        var buyer = "", service = ""
        var delivered: UnixTime??, completed: UnixTime??
        var canceled: Cancellation??
        var requests: [ExtensionRequest] = [], updates: [OrderUpdate] = []
        var ok = true
        while let k = try nextMember(.order, &o) {
            switch k {
            case 0: id = try self.id()
            case 1: buyer = try string() ?? ""
            case 2: service = try string() ?? ""
            case 3: status = try enumeration(OrderStatus.self, "order status")
            case 4: placed = try time()
            case 5: due = try time()
            case 6: delivered = try optionalTime()
            case 7: completed = try optionalTime()
            case 8: canceled = try null() ? .some(nil) : cancellation().map { .some($0) }
            case 9:
                try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in
                    if let x = try d.extensionRequest() { requests.append(x) } else { ok = false }
                }
                if requests.filter({ $0.status == .pending }).count > 1 { problem("more than one request is pending") }
            default:
                try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in
                    if let x = try d.update() { updates.append(x) } else { ok = false }
                }
            }
        }
        if let status, let c = canceled, (status == .canceled) != (c != nil) {
            path[path.count - 1] = .key("canceled")
            problem(status == .canceled ? "a canceled order needs {\"by\", \"at\"}" : "must be null unless the status is \"canceled\"")
        }
        let (extras, raw) = endObject(.order, o)
        guard ok, let id, let status, let placed, let due, let delivered = delivered ?? .some(nil),
            let completed = completed ?? .some(nil), let canceled = canceled ?? .some(nil)
        else { return nil }
        var order = Order(
            id: id, buyer: buyer, service: service, status: status, placedAt: placed, dueAt: due, deliveredAt: delivered,
            completedAt: completed, canceled: canceled, extensionRequests: requests, updates: updates)
        order.raw = raw
        order.extras = extras
        return order
    }

    mutating func cancellation() throws(JSONSyntaxError) -> Cancellation? {
        guard var o = try beginObject() else { return nil }
        var by: CanceledBy?, at: UnixTime?
        while let k = try nextMember(.canceled, &o) {
            if k == 0 { by = try enumeration(CanceledBy.self, "canceler") } else { at = try time() }
        }
        let (_, raw) = endObject(.canceled, o)
        guard let by, let at else { return nil }
        var c = Cancellation(by: by, at: at)
        c.raw = raw
        return c
    }

    mutating func extensionRequest() throws(JSONSyntaxError) -> ExtensionRequest? {
        guard var o = try beginObject() else { return nil }
        var days: Int64?, at: UnixTime?, status: ExtensionRequest.Status?
        var reason = ""
        var answered: UnixTime??
        while let k = try nextMember(.extensionRequest, &o) {
            switch k {
            case 0: days = try integer(in: 1...365)
            case 1: reason = try freeString(limit: Limits.reasonBytes) ?? ""
            case 2: at = try time()
            case 3: status = try enumeration(ExtensionRequest.Status.self, "extension status")
            default: answered = try optionalTime()
            }
        }
        let (_, raw) = endObject(.extensionRequest, o)
        guard let days, let at, let status, let answered = answered ?? .some(nil) else { return nil }
        var x = ExtensionRequest(days: days, reason: reason, at: at, status: status, answeredAt: answered)
        x.raw = raw
        return x
    }

    mutating func update() throws(JSONSyntaxError) -> OrderUpdate? {
        guard var o = try beginObject() else { return nil }
        var at: UnixTime?, text: Text?
        while let k = try nextMember(.update, &o) {
            if k == 0 { at = try time() } else { text = try self.text() }
        }
        let (_, raw) = endObject(.update, o)
        guard let at, let text else { return nil }
        var u = OrderUpdate(at: at, text: text)
        u.raw = raw
        return u
    }

    // MARK: Stats

    mutating func stats() throws(JSONSyntaxError) -> (Stats, SourceSpan)? {
        guard var o = try beginObject() else { return nil }
        var stats = Stats()
        while let k = try nextMember(.stats, &o) {
            let counts = try counters()
            if k == 0 { stats.declinesByService = counts } else { stats.expiredByService = counts }
        }
        let (extras, raw) = endObject(.stats, o)
        stats.extras = extras
        return (stats, raw)
    }

    /// `{"service": count, …}`
    mutating func counters() throws(JSONSyntaxError) -> [String: Int64] {
        try map("expected a count (an integer from 0 to \(Limits.count))") { bytes in
            var sub = JSONReader(bytes)
            guard case .integer(let n)? = try? sub.number(), n >= 0, n <= Limits.count, sub.pos == bytes.count else { return nil }
            return n
        }
    }
}
