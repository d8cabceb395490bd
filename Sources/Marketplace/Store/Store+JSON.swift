import Dispatch
#if canImport(Glibc)
import Glibc
#endif

extension Store {
    /// Reads and validates a store from the bytes of a file.
    public static func decode(_ source: SourceBytes, count: Int) throws(StoreDecodingError) -> Store {
        var d = StoreDecoder(source: source, count: count)
        var draft: StoreDraft
        do {
            draft = try d.document(prefetch: MessagesPrefetch.start(source, count: count))
        } catch {
            throw d.syntaxError(error)
        }
        guard d.problems.isEmpty, let agency = draft.agency else {
            if draft.agency == nil, d.problems.isEmpty { d.problem(StoreProblem(path: "agency", message: "missing")) }
            throw .invalid(d.problems, more: d.moreProblems)
        }
        let store = Store(revision: draft.revision, agency: agency, stats: draft.stats)
        store.agency = agency  // with its services' spans, which `init` drops: they are this store's
        store.source = source
        store.agencyRaw = draft.agencyRaw
        store.statsRaw = draft.statsRaw
        store.extras = draft.extras
        store.appliedEvents = draft.appliedEvents
        if !draft.digestsByEvent.isEmpty {
            store.appliedDigests = draft.appliedEvents.map { draft.digestsByEvent[$0] ?? 0 }
            let applied = Set(draft.appliedEvents)
            for id in draft.digestsByEvent.keys.sorted() where !applied.contains(id) {
                d.problem(StoreProblem(path: "applied_event_digests", message: "\(ChangeValue.string(id)) is not an applied event"))
            }
        }
        d.resolve(&draft, into: store)
        guard d.problems.isEmpty else { throw .invalid(d.problems, more: d.moreProblems) }
        return store
    }

    /// Where a save's bytes go: the buffer, about a megabyte at a time, and
    /// long runs of unchanged objects straight from the loaded file.
    public typealias Output = (UnsafeRawBufferPointer) throws -> Void

    /// Writes the store as JSON: one object per line inside each array, objects
    /// unchanged since loading copied byte for byte.
    public func encode(revision: Int64, to output: Output) throws {
        var w = JSONWriter(capacity: 1 << 21, source: source)
        func drain() throws {
            if w.count >= 1 << 20 {
                try output(w.buffer)
                w.removeAll()
            }
        }
        /// Bytes of the loaded file: a long run is handed to `output` where it
        /// lies (the mapped file) instead of being copied into the buffer first.
        func copy(_ start: Int, _ end: Int) throws {
            guard let source else { return }
            if end - start >= 1 << 16 {
                try output(w.buffer)
                w.removeAll()
                try output(UnsafeRawBufferPointer(rebasing: source.buffer[start..<end]))
            } else {
                w.raw(UnsafeRawBufferPointer(rebasing: source.buffer[start..<end]))
            }
        }
        /// Whether the file has this writer's separator of two array elements,
        /// `,\n    `, at `offset`.
        func separator(at offset: Int) -> Bool {
            guard let source, offset + 6 <= source.buffer.count else { return false }
            return memcmp(source.buffer.baseAddress.unsafelyUnwrapped + offset, ",\n    ", 6) == 0
        }
        /// An array member, one element a line. `raw(i)` is element i's bytes in
        /// the loaded file while it is unchanged; `item` writes a changed one.
        /// Unchanged elements that follow each other in the file as this writer
        /// lays them out are copied as one run (most of a large store: copying
        /// them one by one, with their separators, was half of a save's work).
        func section(
            _ name: StaticString, _ count: Int, last: Bool = false, raw: (Int) -> SourceSpan?,
            _ item: (inout JSONWriter, Int) -> Void
        ) throws {
            w.raw("  \"")
            w.raw(name)
            w.raw("\": ")
            if count == 0 {
                w.raw("[]")
            } else {
                w.raw("[\n")
                var i = 0
                while i < count {
                    w.raw("    ")
                    if let first = raw(i) {
                        var end = first.start + first.count
                        i += 1
                        while i < count, let next = raw(i), next.start == end + 6, separator(at: end) {
                            end = next.start + next.count
                            i += 1
                        }
                        try copy(first.start, end)
                    } else {
                        // By index: passing elements would copy each one (and
                        // retain and release its texts).
                        item(&w, i)
                        i += 1
                    }
                    w.raw(i == count ? "\n" : ",\n")
                    try drain()
                }
                w.raw("  ]")
            }
            w.raw(last ? "\n" : ",\n")
        }
        w.raw("{\n  \"format\": \"jobrules-store\",\n  \"version\": 1,\n  \"revision\": ")
        w.int(revision)
        w.raw(",\n  \"agency\": ")
        if let raw = agencyRaw { w.raw(raw) } else { encodeAgency(&w) }
        w.raw(",\n")
        try section("members", members.count, raw: { self.members[$0].raw }) { w, i in self.encode(self.members[i], &w) }
        try section("merchants", merchants.count, raw: { self.merchants[$0].raw }) { w, i in self.encode(self.merchants[i], &w) }
        try section("jobs", jobs.count, raw: { self.jobs[$0].raw }) { w, i in self.encode(self.jobs[i], &w) }
        try section("messages", messages.count, raw: { self.messages[$0].raw }) { w, i in self.encode(self.messages[i], &w) }
        try section("contacts", contacts.count, raw: { self.contacts[$0].raw }) { w, i in self.encode(self.contacts[i], &w) }
        try section("orders", orders.count, raw: { self.orders[$0].raw }) { w, i in self.encode(self.orders[i], &w) }
        try section("outbox", outbox.count, raw: { self.outbox[$0].raw }) { w, i in self.encode(self.outbox[i], &w) }
        w.raw("  \"stats\": ")
        if let raw = statsRaw { w.raw(raw) } else { encodeStats(&w) }
        if !appliedEvents.isEmpty {
            // One id a line, like the arrays above: a feed's ids diff well.
            w.raw(",\n  \"applied_events\": [\n")
            for (i, id) in appliedEvents.enumerated() {
                w.raw("    ")
                w.string(id)
                if i < appliedEvents.count - 1 { w.raw(",\n") }
                try drain()
            }
            w.raw("\n  ]")
            // Their digests beside them (where known), under a key of their own:
            // an earlier jobrules keeps it as it is and still reads the ids.
            let known = appliedEvents.indices.filter { $0 < appliedDigests.count && appliedDigests[$0] != 0 }
            if !known.isEmpty {
                w.raw(",\n  \"applied_event_digests\": {\n")
                for (k, i) in known.enumerated() {
                    w.raw("    ")
                    w.string(appliedEvents[i])
                    w.raw(": ")
                    w.string(ImportEvent.hex(appliedDigests[i]))
                    if k < known.count - 1 { w.raw(",\n") }
                    try drain()
                }
                w.raw("\n  }")
            }
        }
        for m in extras.members {
            w.raw(",\n  ")
            w.raw(m.key)
            w.raw(": ")
            w.raw(m.value)
        }
        w.raw("\n}\n")
        try output(w.buffer)
    }

    /// The whole store as bytes (tests, small stores).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        try? encode(revision: revision) { out.append(contentsOf: $0) }
        return out
    }

    // MARK: Objects

    private func encodeAgency(_ w: inout JSONWriter) {
        w.raw("{")
        w.key("name")
        w.string(agency.name)
        w.nextKey("services")
        w.list(agency.services, raw: \.raw) { w, s in
            w.raw("{")
            w.key("id")
            w.string(s.id)
            w.nextKey("name")
            w.string(s.name)
            w.nextKey("min_budget")
            if let m = s.minBudget { w.number(m) } else { w.null() }
            w.nextKey("currency")
            w.string(s.currency)
            w.raw("}")
        }
        w.nextKey("preferences")
        let p = agency.preferences
        w.raw("{")
        w.key("available")
        w.bool(p.available)
        w.nextKey("listed_in_search")
        w.bool(p.listedInSearch)
        w.nextKey("works_with_dropshippers")
        w.bool(p.worksWithDropshippers)
        w.nextKey("notification_email")
        w.string(p.notificationEmail)
        w.extras(p.extras)
        w.raw("}")
        w.extras(agency.extras)
        w.raw("}")
    }

    private func encodeStats(_ w: inout JSONWriter) {
        func counts(_ c: [String: Int64]) {
            w.raw("{")
            for (i, key) in c.keys.sorted().enumerated() {
                if i > 0 { w.raw(",") }
                w.string(key)
                w.raw(":")
                w.int(c[key] ?? 0)
            }
            w.raw("}")
        }
        w.raw("{")
        w.key("declines_by_service")
        counts(stats.declinesByService)
        w.nextKey("expired_by_service")
        counts(stats.expiredByService)
        w.extras(stats.extras)
        w.raw("}")
    }

    private func encode(_ m: Member, _ w: inout JSONWriter) {
        if let raw = m.raw { return w.raw(raw) }
        w.raw("{")
        w.key("id")
        w.string(m.id)
        w.nextKey("name")
        w.string(m.name)
        w.nextKey("email")
        w.string(m.email)
        w.nextKey("role")
        w.string(m.role)
        w.nextKey("services")
        w.strings(m.services)
        w.nextKey("active")
        w.bool(m.active)
        w.extras(m.extras)
        w.raw("}")
    }

    private func encode(_ m: Merchant, _ w: inout JSONWriter) {
        if let raw = m.raw { return w.raw(raw) }
        w.raw("{")
        w.key("id")
        w.string(m.id)
        w.nextKey("name")
        w.string(m.name)
        w.nextKey("store")
        w.string(m.store)
        w.nextKey("email")
        w.string(m.email)
        w.nextKey("dropshipper")
        w.bool(m.dropshipper)
        w.nextKey("industry")
        w.string(m.industry)
        w.nextKey("country")
        w.string(m.country)
        w.extras(m.extras)
        w.raw("}")
    }

    private func encode(_ j: Job, _ w: inout JSONWriter) {
        if let raw = j.raw { return w.raw(raw) }
        w.raw("{")
        w.key("id")
        w.string(j.id)
        w.nextKey("source")
        w.string(j.source.rawValue)
        w.nextKey("merchant")
        w.string(merchants[j.merchant].id)
        w.nextKey("service")
        w.string(j.service)
        w.nextKey("title")
        w.text(j.title)
        w.nextKey("details")
        w.text(j.details)
        w.nextKey("budget")
        w.object(j.budget, raw: \.raw) { w, b in
            w.raw("{")
            w.key("min")
            if let v = b.min { w.number(v) } else { w.null() }
            w.nextKey("max")
            if let v = b.max { w.number(v) } else { w.null() }
            w.nextKey("currency")
            w.string(b.currency)
            w.raw("}")
        }
        w.nextKey("priorities")
        w.object(j.priorities, raw: \.raw) { w, p in
            w.raw("{")
            w.key("time")
            w.string(p.time?.rawValue)
            w.nextKey("cost")
            w.string(p.cost?.rawValue)
            w.nextKey("quality")
            w.string(p.quality?.rawValue)
            w.raw("}")
        }
        w.nextKey("status")
        w.string(j.status.rawValue)
        w.nextKey("created_at")
        w.time(j.createdAt)
        w.nextKey("opened_at")
        w.time(j.openedAt)
        w.nextKey("first_response_at")
        w.time(j.firstResponseAt)
        w.nextKey("assignees")
        w.strings(j.assignees.map { members[$0].id })
        w.nextKey("tags")
        w.strings(j.tags)
        w.nextKey("notes")
        w.list(j.notes, raw: \.raw) { w, n in
            w.raw("{")
            w.key("author")
            w.string(n.author)
            w.nextKey("at")
            w.time(n.at)
            w.nextKey("text")
            w.text(n.text)
            w.raw("}")
        }
        w.nextKey("declined")
        w.object(j.declined, raw: \.raw) { w, d in
            w.raw("{")
            w.key("by")
            w.string(d.by.rawValue)
            w.nextKey("at")
            w.time(d.at)
            w.nextKey("reason")
            w.string(d.reason)
            w.raw("}")
        }
        w.nextKey("completed_at")
        w.time(j.completedAt)
        w.extras(j.extras)
        w.raw("}")
    }

    private func encode(_ m: Message, _ w: inout JSONWriter) {
        if let raw = m.raw { return w.raw(raw) }
        w.raw("{")
        w.key("id")
        w.string(m.id)
        w.nextKey("job")
        w.string(jobs[m.job].id)
        w.nextKey("from")
        w.string(m.from.stored)
        w.nextKey("at")
        w.time(m.at)
        w.nextKey("body")
        w.text(m.body)
        w.extras(m.extras)
        w.raw("}")
    }

    private func encode(_ c: Contact, _ w: inout JSONWriter) {
        if let raw = c.raw { return w.raw(raw) }
        w.raw("{")
        w.key("id")
        w.string(c.id)
        w.nextKey("name")
        w.string(c.name)
        w.nextKey("email")
        w.string(c.email)
        w.nextKey("at")
        w.time(c.at)
        w.nextKey("message")
        w.text(c.message)
        w.extras(c.extras)
        w.raw("}")
    }

    private func encode(_ o: Order, _ w: inout JSONWriter) {
        if let raw = o.raw { return w.raw(raw) }
        w.raw("{")
        w.key("id")
        w.string(o.id)
        w.nextKey("buyer")
        w.string(o.buyer)
        w.nextKey("service")
        w.string(o.service)
        w.nextKey("status")
        w.string(o.status.rawValue)
        w.nextKey("placed_at")
        w.time(o.placedAt)
        w.nextKey("due_at")
        w.time(o.dueAt)
        w.nextKey("delivered_at")
        w.time(o.deliveredAt)
        w.nextKey("completed_at")
        w.time(o.completedAt)
        w.nextKey("canceled")
        w.object(o.canceled, raw: \.raw) { w, c in
            w.raw("{")
            w.key("by")
            w.string(c.by.rawValue)
            w.nextKey("at")
            w.time(c.at)
            w.raw("}")
        }
        w.nextKey("extension_requests")
        w.list(o.extensionRequests, raw: \.raw) { w, x in
            w.raw("{")
            w.key("days")
            w.int(x.days)
            w.nextKey("reason")
            w.string(x.reason)
            w.nextKey("at")
            w.time(x.at)
            w.nextKey("status")
            w.string(x.status.rawValue)
            w.nextKey("answered_at")
            w.time(x.answeredAt)
            w.raw("}")
        }
        w.nextKey("updates")
        w.list(o.updates, raw: \.raw) { w, u in
            w.raw("{")
            w.key("at")
            w.time(u.at)
            w.nextKey("text")
            w.text(u.text)
            w.raw("}")
        }
        w.extras(o.extras)
        w.raw("}")
    }

    private func encode(_ e: OutboxEntry, _ w: inout JSONWriter) {
        if let raw = e.raw { return w.raw(raw) }
        w.raw("{")
        w.key("id")
        w.string(e.id)
        w.nextKey("to")
        w.string(e.to)
        w.nextKey("subject")
        w.string(e.subject)
        w.nextKey("body")
        w.text(e.body)
        w.nextKey("job")
        w.string(e.job.map { jobs[$0].id })
        w.nextKey("at")
        w.time(e.at)
        w.extras(e.extras)
        w.raw("}")
    }
}

extension StoreDecoder {
    /// Checks unique ids and every reference, filling the store with resolved objects.
    mutating func resolve(_ draft: inout StoreDraft, into store: Store) {
        func unique<T>(_ section: StaticString, _ items: [T], _ id: (T) -> String) -> [String: Int] {
            var index = [String: Int](minimumCapacity: items.count)
            for i in items.indices {
                let key = id(items[i])
                // One hash a new id (a lookup then an insert hashed it twice).
                if let first = index.updateValue(i, forKey: key) {
                    index[key] = first
                    path = [.key(section), .index(i), .key("id")]
                    problem("duplicate id \(ChangeValue.string(key)) (also \(section)[\(first)])")
                }
            }
            return index
        }
        // An absent collection reads as empty. References into one that is
        // absent are not each a problem: its absence is, said first.
        var dangling: [(collection: String, count: Int, first: String)] = []
        func unknown(_ collection: String, _ message: String) {
            let bit: UInt64 = collection == "members" ? 1 << 4 : collection == "merchants" ? 1 << 5 : 1 << 6
            guard draft.topLevel & bit == 0 else { return problem(message) }
            if let k = dangling.firstIndex(where: { $0.collection == collection }) {
                dangling[k].count += 1
            } else {
                dangling.append((collection, 1, pathString))
            }
        }
        let members = unique("members", draft.members, \.id)
        let merchants = unique("merchants", draft.merchants, \.id)
        let jobs = unique("jobs", draft.jobs, \.id)
        let contacts = unique("contacts", draft.contacts, \.id)
        let orders = unique("orders", draft.orders, \.id)
        // Messages were checked as they were read (see MessageRefs).
        let messageRefs = draft.messageRefs
        for (i, id) in messageRefs.duplicates {
            path = [.key("messages"), .index(i), .key("id")]
            problem("duplicate id \(ChangeValue.string(id))")
        }
        var outboxIDs = Set<String>(minimumCapacity: draft.outbox.count)
        for i in draft.outbox.indices where !outboxIDs.insert(draft.outbox[i].id).inserted {
            path = [.key("outbox"), .index(i), .key("id")]
            problem("duplicate id \(ChangeValue.string(draft.outbox[i].id))")
        }

        // In place: copying the arrays would copy (and retain) every object.
        for i in draft.jobs.indices {
            if let m = merchants[draft.jobMerchants[i]] {
                draft.jobs[i].merchant = m
            } else {
                path = [.key("jobs"), .index(i), .key("merchant")]
                unknown("merchants", "unknown merchant \(ChangeValue.string(draft.jobMerchants[i]))")
            }
            let refs = draft.jobAssignees[i]
            if !refs.isEmpty {
                var assignees: [Int] = []
                assignees.reserveCapacity(refs.count)
                for (k, ref) in refs.enumerated() {
                    if let m = members[ref] {
                        assignees.append(m)
                    } else {
                        path = [.key("jobs"), .index(i), .key("assignees"), .index(k)]
                        unknown("members", "unknown member \(ChangeValue.string(ref))")
                    }
                }
                draft.jobs[i].assignees = assignees
            }
            for k in draft.jobs[i].notes.indices {  // not the notes themselves: copying one retains its text
                if let author = draft.jobs[i].notes[k].author, members[author] == nil {
                    path = [.key("jobs"), .index(i), .key("notes"), .index(k), .key("author")]
                    unknown("members", "unknown member \(ChangeValue.string(author))")
                }
            }
        }
        // One lookup per run of messages of the same job and one per member
        // who wrote any; each message is only checked one by one when one of
        // them is unknown, for the problems to name each message.
        let runs = messageRefs.jobRuns
        // Runs mostly come in the jobs' order (a store lists each job's
        // messages after the one before's): the few jobs after the last run's
        // are compared before hashing (a lookup in a dictionary of every job
        // missed the cache, a tenth of the resolving).
        var runJobs: [Int?] = []
        runJobs.reserveCapacity(runs.count)
        var next = 0
        for run in runs {
            var found: Int?
            var k = next
            while found == nil, k < min(next + 8, draft.jobs.count) {
                if draft.jobs[k].id == run.job { found = k }
                k += 1
            }
            if found == nil { found = jobs[run.job] }
            if let found { next = found + 1 }
            runJobs.append(found)
        }
        let knownJobs = runJobs.compactMap { $0 }
        if knownJobs.count == runs.count, messageRefs.authors.keys.allSatisfy({ members[$0] != nil }) {
            for (r, run) in runs.enumerated() {
                let end = r + 1 < runs.count ? runs[r + 1].first : draft.messages.count
                for i in run.first..<end { draft.messages[i].job = knownJobs[r] }
            }
        } else {
            var r = 0
            for i in draft.messages.indices {
                while r + 1 < runs.count, runs[r + 1].first <= i { r += 1 }
                if let j = runJobs[r] {
                    draft.messages[i].job = j
                } else {
                    path = [.key("messages"), .index(i), .key("job")]
                    unknown("jobs", "unknown job \(ChangeValue.string(runs[r].job))")
                }
                if case .member(let id) = draft.messages[i].from, members[id] == nil {
                    path = [.key("messages"), .index(i), .key("from")]
                    unknown("members", "unknown member \(ChangeValue.string(id))")
                }
            }
        }
        for i in draft.outbox.indices {
            guard let ref = draft.outboxJobs[i] else { continue }
            if let j = jobs[ref] {
                draft.outbox[i].job = j
            } else {
                path = [.key("outbox"), .index(i), .key("job")]
                unknown("jobs", "unknown job \(ChangeValue.string(ref))")
            }
        }
        path = []
        for (k, root) in dangling.enumerated() {
            let more = root.count > 1 ? " and \(root.count - 1) more refer" : " refers"
            problems.insert(
                StoreProblem(
                    path: root.collection,
                    message: "missing, yet \(root.first)\(more) to \(root.collection) (an absent collection reads as empty)"),
                at: k)
        }
        guard problems.isEmpty else { return }
        store.adopt(
            members: draft.members, memberIndex: members, merchants: draft.merchants, merchantIndex: merchants,
            jobs: draft.jobs, jobIndex: jobs, messages: draft.messages, contacts: draft.contacts,
            contactIndex: contacts, orders: draft.orders, orderIndex: orders, outbox: draft.outbox, outboxIDs: outboxIDs,
            nextMessageNumber: messageRefs.nextNumber)
        // The references as read (one or two per object) are freed on another
        // core while this one goes on; the objects are the store's now.
        let references = (draft.jobMerchants, draft.jobAssignees, draft.messageRefs, draft.outboxJobs)
        draft = StoreDraft()
        DispatchQueue.global().async { withExtendedLifetime(references) {} }
    }
}
