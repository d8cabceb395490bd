#if canImport(Glibc)
import Glibc
#endif

/// The agency's marketplace data in memory, and every action on it.
///
/// Every change goes through a method here: each one enforces the domain's
/// transitions, sends the emails they imply (outbox), keeps the stats, records a
/// `Change` for the audit log and the dry-run plan, and can be rolled back to a
/// savepoint. Times come from the caller (`now`): nothing here reads the clock.
public final class Store {
    public internal(set) var revision: Int64
    public internal(set) var agency: Agency
    public internal(set) var members: [Member]
    public internal(set) var merchants: [Merchant]
    public internal(set) var jobs: [Job]
    public internal(set) var messages: [Message]
    public internal(set) var contacts: [Contact]
    public internal(set) var orders: [Order]
    public internal(set) var outbox: [OutboxEntry]
    public internal(set) var stats: Stats
    /// Ids of the imported events applied to this store, in order (`jobrules import`).
    public internal(set) var appliedEvents: [String] = []
    /// Each applied event's content digest (`ImportEvent.digest`), by
    /// position in `appliedEvents`; 0 where it isn't known (an id recorded
    /// before digests were).
    var appliedDigests: [UInt64] = []
    /// `members(offering:)`'s answers, made on first ask: members don't change
    /// once a store is made, and the assigning rule asks for every job (going
    /// through the whole team each time was a tenth of its work at 100 000 jobs).
    private var membersByService: [String: [Int]] = [:]
    /// `appliedEvents` with their digests, built on first use.
    private var appliedEventSet: [String: UInt64] = [:]
    private var appliedEventSetBuilt = false
    /// Top-level members jobrules doesn't know, written back in place on save.
    var extras = Extras()
    /// Whether `agency` and `stats` still equal their bytes in the loaded file.
    var agencyRaw: SourceSpan?
    var statsRaw: SourceSpan?
    /// The loaded file's bytes: objects unchanged since loading are saved by copying theirs.
    var source: SourceBytes?

    /// Who is acting, for the changes recorded from now on (`rule:<name>`, `import`, …).
    public var actor = "jobrules"
    /// Changes applied since the store was loaded or last saved, in order.
    public private(set) var changes: [Change] = []
    /// About how many bytes the changes since the last commit hold: their
    /// records, the old values kept for rollback, new messages and emails
    /// (see `hold`). What a script makes the host hold is counted against its
    /// memory limit through it (`LuaState.countHostMemory`), so it lives at an
    /// address that stays put.
    public let heldBytes: UnsafeMutablePointer<Int> = {
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        counter.initialize(to: 0)
        return counter
    }()

    var memberIndex: [String: Int] = [:]
    var merchantIndex: [String: Int] = [:]
    var jobIndex: [String: Int] = [:]
    var orderIndex: [String: Int] = [:]
    var contactIndex: [String: Int] = [:]
    private var outboxIDs: Set<String> = []
    private var nextMessageNumber = 1
    private var nextOutboxNumber = 1
    /// Per job, its messages' indices in store order; built on first use.
    private var messagesByJob: [[Int32]]?
    /// Per job, its latest message by time (the later in the store on a
    /// tie), or -1; built and kept with `messagesByJob`.
    private var latestMessageByJob: [Int32] = []
    /// How many jobs and orders have each service; built on first use
    /// (`hasService`) and kept up to date as jobs and orders come and go.
    private var servicesInUse: [String: Int]?
    /// Per member, assigned jobs that are open; kept up to date by `updateJob` and `restoreJob`.
    private var openJobCounts: [Int]
    private var undo: [Undo] = []
    /// Per job (and per order), where in `undo` its latest old value is, or -1:
    /// one old value per savepoint is enough to roll a job back, however many
    /// actions change it (a copy per action made a loop of `job:tag` or
    /// `job:note` keep every intermediate tag and note list: quadratic).
    private var jobSnapshots: [Int] = []
    private var orderSnapshots: [Int] = []
    /// `undo.count` when the latest savepoint was taken: an old value kept at
    /// or above it belongs to the innermost savepoint still open.
    private var snapshotFloor = 0
    /// Stamps of the messages and emails added since loading, by index from
    /// `stampedFrom`: an object a rollback removed and a later one added at
    /// the same index have different stamps, so a handle to the first can
    /// tell (`stamp(message:)`).
    private var messageStamps: [UInt32] = []
    private var outboxStamps: [UInt32] = []
    private var messagesStampedFrom = 0
    private var outboxStampedFrom = 0
    private var nextStamp: UInt32 = 1

    public init(
        revision: Int64 = 0, agency: Agency, members: [Member] = [], merchants: [Merchant] = [], jobs: [Job] = [],
        messages: [Message] = [], contacts: [Contact] = [], orders: [Order] = [], outbox: [OutboxEntry] = [],
        stats: Stats = Stats()
    ) {
        func detached<T>(_ items: [T], _ detach: (inout T) -> Void) -> [T] {
            var items = items
            for i in items.indices { detach(&items[i]) }
            return items
        }
        self.revision = revision
        self.agency = agency
        self.agency.detach()
        self.members = detached(members) { $0.detach() }
        self.merchants = detached(merchants) { $0.detach() }
        self.jobs = detached(jobs) { $0.detach() }
        self.messages = detached(messages) { $0.detach() }
        self.contacts = detached(contacts) { $0.detach() }
        self.orders = detached(orders) { $0.detach() }
        self.outbox = detached(outbox) { $0.detach() }
        self.stats = stats
        openJobCounts = Array(repeating: 0, count: members.count)
        rebuildIndexes()
    }

    deinit {
        heldBytes.deinitialize(count: 1)
        heldBytes.deallocate()
    }

    /// Indices and counters derived from the collections (after loading or building).
    func rebuildIndexes() {
        memberIndex = Dictionary(members.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        merchantIndex = Dictionary(merchants.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        jobIndex = Dictionary(jobs.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        orderIndex = Dictionary(orders.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        contactIndex = Dictionary(contacts.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        outboxIDs = Set(outbox.map(\.id))
        rebuildCounters()
    }

    /// Takes the collections of a loaded store with the indices the loader built while validating.
    func adopt(
        members: [Member], memberIndex: [String: Int], merchants: [Merchant], merchantIndex: [String: Int], jobs: [Job],
        jobIndex: [String: Int], messages: [Message], contacts: [Contact], contactIndex: [String: Int],
        orders: [Order], orderIndex: [String: Int], outbox: [OutboxEntry], outboxIDs: Set<String>, nextMessageNumber: Int
    ) {
        self.members = members
        self.memberIndex = memberIndex
        membersByService = [:]
        self.merchants = merchants
        self.merchantIndex = merchantIndex
        self.jobs = jobs
        self.jobIndex = jobIndex
        self.messages = messages
        self.contacts = contacts
        self.contactIndex = contactIndex
        self.orders = orders
        self.orderIndex = orderIndex
        self.outbox = outbox
        self.outboxIDs = outboxIDs
        rebuildCounters(nextMessageNumber: nextMessageNumber)
    }

    /// `nextMessageNumber`: when the caller already knows it (reading every
    /// message id again cost 18 ms on 100 000 jobs).
    private func rebuildCounters(nextMessageNumber known: Int? = nil) {
        if let known {
            nextMessageNumber = known
        } else {
            nextMessageNumber = 1
            for i in messages.indices { nextMessageNumber = max(nextMessageNumber, Self.number(in: messages[i].id, after: "msg") + 1) }
        }
        nextOutboxNumber = 1
        for i in outbox.indices { nextOutboxNumber = max(nextOutboxNumber, Self.number(in: outbox[i].id, after: "e") + 1) }
        messagesByJob = nil
        latestMessageByJob = []
        servicesInUse = nil
        messagesStampedFrom = messages.count
        outboxStampedFrom = outbox.count
        messageStamps = []
        outboxStamps = []
        openJobCounts = Array(repeating: 0, count: members.count)
        // By index: each job is read where it lies.
        for i in jobs.indices where jobs[i].isOpen {
            for m in jobs[i].assignees { openJobCounts[m] += 1 }
        }
    }

    /// N in an id `<prefix>N`, or 0.
    static func number(in id: String, after prefix: StaticString) -> Int {
        var id = id
        return id.withUTF8 { b -> Int in
            let p = prefix.utf8CodeUnitCount
            guard b.count > p, b.count <= p + 15, (0..<p).allSatisfy({ b[$0] == prefix.utf8Start[$0] }) else { return 0 }
            var n = 0
            for k in p..<b.count {
                guard b[k] &- 48 < 10 else { return 0 }
                n = n * 10 + Int(b[k] - 48)
            }
            return n
        }
    }

    // MARK: Lookups

    public func member(_ id: String) -> Int? { memberIndex[id] }
    public func merchant(_ id: String) -> Int? { merchantIndex[id] }
    public func job(_ id: String) -> Int? { jobIndex[id] }
    public func order(_ id: String) -> Int? { orderIndex[id] }
    public func contact(_ id: String) -> Int? { contactIndex[id] }

    /// Assigned jobs of this member that are not declined, expired or completed.
    public func openJobs(ofMember member: Int) -> Int { openJobCounts[member] }

    /// Whether `id` names a service of the store: one the agency offers, a
    /// member offers, or some job or order has (scanned last, and only when
    /// the others don't name it).
    public func hasService(_ id: String) -> Bool {
        agency.services.contains(where: { $0.id == id }) || members.contains(where: { $0.services.contains(id) })
            || serviceCounts()[id] != nil
    }

    /// Every service id of the store (`hasService`), sorted.
    public var serviceIDs: [String] {
        var ids = Set(agency.services.map(\.id))
        for m in members { ids.formUnion(m.services) }
        ids.formUnion(serviceCounts().keys)
        return ids.sorted()
    }

    private func serviceCounts() -> [String: Int] {
        if let built = servicesInUse { return built }
        var counts: [String: Int] = [:]
        for j in jobs { counts[j.service, default: 0] += 1 }
        for o in orders where !o.service.isEmpty { counts[o.service, default: 0] += 1 }
        servicesInUse = counts
        return counts
    }

    /// Keeps `servicesInUse` (when built) as a job or order with `service` comes (+1) or goes (-1).
    private func countService(_ service: String, _ delta: Int) {
        guard servicesInUse != nil, !service.isEmpty else { return }
        let count = (servicesInUse?[service] ?? 0) + delta
        servicesInUse?[service] = count > 0 ? count : nil
    }

    /// The messages of a job, in store order.
    public func messages(ofJob job: Int) -> [Int] {
        messageIndex()[job].map(Int.init)
    }

    /// The job's latest message (by time; the later in the store on a tie).
    public func lastMessage(ofJob job: Int) -> Int? {
        _ = messageIndex()
        let latest = latestMessageByJob[job]
        return latest < 0 ? nil : Int(latest)
    }

    /// The latest of `indices` by time (the later in the store on a tie), or -1.
    private func latest(among indices: [Int32]) -> Int32 {
        var best: Int32 = -1
        for i in indices where best < 0 || messages[Int(best)].at <= messages[Int(i)].at { best = i }
        return best
    }

    private func messageIndex() -> [[Int32]] {
        if let built = messagesByJob { return built }
        var index = [[Int32]](repeating: [], count: jobs.count)
        for (i, m) in messages.enumerated() { index[m.job].append(Int32(i)) }
        messagesByJob = index
        latestMessageByJob = index.map(latest(among:))
        return index
    }

    /// Active members offering this service, in store order.
    public func members(offering service: String) -> [Int] {
        if let known = membersByService[service] { return known }
        let found = members.indices.filter { members[$0].active && members[$0].services.contains(service) }
        membersByService[service] = found
        return found
    }

    /// The team lead (the first member whose role is `lead`), if any.
    public var lead: Int? { members.firstIndex { $0.role == "lead" } }

    /// Jobs whose merchant name, title, details or notes contain `text` (ASCII case folded).
    public func search(_ text: String) -> [Int] {
        let needle = Array(text.utf8).map(JSONText.lower)
        guard !needle.isEmpty else { return Array(jobs.indices) }
        return jobs.indices.filter { i in
            let job = jobs[i]
            return Text(merchants[job.merchant].name).contains(lowercased: needle) || job.title.contains(lowercased: needle)
                || job.details.contains(lowercased: needle) || job.notes.contains { $0.text.contains(lowercased: needle) }
        }
    }

    // MARK: Savepoints

    /// A point to roll back to.
    public struct Savepoint: Sendable {
        let undoCount: Int
        /// How many changes were recorded when it was taken.
        public let changeCount: Int
        let heldBytes: Int
    }

    public func savepoint() -> Savepoint {
        snapshotFloor = undo.count
        return Savepoint(undoCount: undo.count, changeCount: changes.count, heldBytes: heldBytes.pointee)
    }

    /// Keeps what changed since `savepoint` for good: what rolling back to it
    /// would take (the old values) is dropped. Only for the outermost
    /// savepoint: rolling back to one taken before it no longer undoes these
    /// changes.
    public func release(_ savepoint: Savepoint) {
        guard undo.count > savepoint.undoCount else { return }
        for step in undo[savepoint.undoCount...].reversed() { forgetSnapshot(step) }
        undo.removeSubrange(savepoint.undoCount...)
        snapshotFloor = min(snapshotFloor, undo.count)
    }

    /// Undoes everything since `savepoint`, changes and emails included.
    public func rollback(to savepoint: Savepoint) {
        while undo.count > savepoint.undoCount, let step = undo.popLast() {
            forgetSnapshot(step)
            switch step {
            case .job(let i, let old, _): restoreJob(i, to: old)
            case .order(let i, let old, _): orders[i] = old
            case .agency(let old, let raw):
                agency = old
                agencyRaw = raw
            case .statCount(let declines, let service, let old, let raw):
                if declines { stats.declinesByService[service] = old } else { stats.expiredByService[service] = old }
                statsRaw = raw
            case .appendedMessage:
                if let m = messages.popLast() {
                    if messagesByJob != nil {
                        messagesByJob?[m.job].removeLast()
                        if Int(latestMessageByJob[m.job]) == messages.count { latestMessageByJob[m.job] = latest(among: messagesByJob?[m.job] ?? []) }
                    }
                    if messages.count >= messagesStampedFrom { messageStamps.removeLast() }
                }
            case .appendedOutbox:
                if let e = outbox.popLast() {
                    outboxIDs.remove(e.id)
                    if outbox.count >= outboxStampedFrom { outboxStamps.removeLast() }
                }
            case .appendedJob:
                if let j = jobs.popLast() {
                    jobIndex[j.id] = nil
                    countService(j.service, -1)
                    if messagesByJob != nil {
                        messagesByJob?.removeLast()
                        latestMessageByJob.removeLast()
                    }
                }
            case .appendedMerchant:
                if let m = merchants.popLast() { merchantIndex[m.id] = nil }
            case .appendedContact:
                if let c = contacts.popLast() { contactIndex[c.id] = nil }
            case .appendedOrder:
                if let o = orders.popLast() {
                    orderIndex[o.id] = nil
                    countService(o.service, -1)
                }
            case .appliedEvent:
                if let id = appliedEvents.popLast() {
                    appliedEventSet[id] = nil
                    appliedDigests.removeLast()
                }
            }
        }
        changes.removeSubrange(savepoint.changeCount...)
        heldBytes.pointee = savepoint.heldBytes
        snapshotFloor = min(snapshotFloor, undo.count)
    }

    /// A step leaves `undo`: the object's latest old value is the one before it again.
    private func forgetSnapshot(_ step: Undo) {
        switch step {
        case .job(let i, _, let previous): jobSnapshots[i] = previous
        case .order(let i, _, let previous): orderSnapshots[i] = previous
        default: break
        }
    }

    /// The stamp of message `i`: 0 for a message loaded with the store,
    /// different for every message added since (see `messageStamps`).
    public func stamp(message i: Int) -> UInt32 {
        i >= messagesStampedFrom && i - messagesStampedFrom < messageStamps.count ? messageStamps[i - messagesStampedFrom] : 0
    }

    /// The stamp of outbox entry `i` (see `stamp(message:)`).
    public func stamp(outbox i: Int) -> UInt32 {
        i >= outboxStampedFrom && i - outboxStampedFrom < outboxStamps.count ? outboxStamps[i - outboxStampedFrom] : 0
    }

    private func newStamp() -> UInt32 {
        defer { nextStamp = nextStamp == UInt32.max ? 1 : nextStamp + 1 }
        return nextStamp
    }

    /// Counts `bytes` more held by the changes (see `heldBytes`).
    @inline(__always)
    func hold(_ bytes: Int) { heldBytes.pointee &+= bytes }

    /// Forgets the undo history and the recorded changes (after a save), and
    /// returns them: a command about to exit keeps them rather than free a
    /// hundred thousand objects one by one (0.15 s after a 100 000-job batch).
    @discardableResult
    public func commit() -> Committed {
        defer {
            undo = []
            changes = []
            jobSnapshots = []
            orderSnapshots = []
            snapshotFloor = 0
            heldBytes.pointee = 0
        }
        return Committed(changes: changes, undo: undo)
    }

    /// What a commit forgot.
    public struct Committed {
        public let changes: [Change]
        let undo: [Undo]
    }

    enum Undo {
        /// A job's value before the first change since the innermost savepoint,
        /// and where in `undo` its value before that is (-1: nowhere).
        case job(Int, Job, previous: Int)
        case order(Int, Order, previous: Int)
        case agency(Agency, SourceSpan?)
        /// A count of `stats` before it changed (nil: absent), and the stats' bytes as read.
        case statCount(declines: Bool, service: String, old: Int64?, raw: SourceSpan?)
        case appendedMessage, appendedOutbox, appendedJob, appendedMerchant, appendedContact, appendedOrder, appliedEvent
    }

    // MARK: Recording

    func record(_ kind: String, _ object: String, _ field: String, _ old: ChangeValue, _ new: ChangeValue) {
        changes.append(Change(actor: actor, kind: kind, object: object, field: field, old: old, new: new))
        hold(MemoryLayout<Change>.stride + old.footprint + new.footprint)
    }

    /// Puts a job's old value back (rollback), keeping the open-job counts right.
    private func restoreJob(_ i: Int, to old: Job) {
        if jobs[i].isOpen { for m in jobs[i].assignees { openJobCounts[m] -= 1 } }
        if old.isOpen { for m in old.assignees { openJobCounts[m] += 1 } }
        jobs[i] = old
    }

    /// Changes job `i` in place (it no longer matches its bytes in the file),
    /// keeping the open-job counts right and, the first time since the
    /// innermost savepoint, its old value for rollback; when `body` throws,
    /// the job is left as it was. Without an old value to keep, nothing holds
    /// on to the job's lists, so appending to one doesn't copy it (a loop of
    /// `job:note` was quadratic).
    func updateJob<E: Error>(_ i: Int, _ body: (inout Job) throws(E) -> Void) throws(E) {
        if i >= jobSnapshots.count { jobSnapshots.append(contentsOf: repeatElement(-1, count: jobs.count - jobSnapshots.count)) }
        let previous = jobSnapshots[i]
        let snapshot = previous < snapshotFloor
        if snapshot {
            // Copied straight into `undo`: no other copy holds on to the job's lists.
            jobSnapshots[i] = undo.count
            undo.append(.job(i, jobs[i], previous: previous))
            hold(MemoryLayout<Job>.stride + 16 * (jobs[i].tags.count + jobs[i].assignees.count) + 48 * jobs[i].notes.count)
        }
        let wasOpen = jobs[i].isOpen
        if wasOpen { for m in jobs[i].assignees { openJobCounts[m] -= 1 } }
        do {
            try body(&jobs[i])
        } catch {
            // A job's actions change it or throw, never both (JobLifecycle): only the old value taken here goes back.
            if snapshot, case .job(_, let old, _)? = undo.popLast() {
                jobs[i] = old
                jobSnapshots[i] = previous
                heldBytes.pointee &-= MemoryLayout<Job>.stride + 16 * (old.tags.count + old.assignees.count) + 48 * old.notes.count
            }
            if wasOpen { for m in jobs[i].assignees { openJobCounts[m] += 1 } }
            throw error
        }
        jobs[i].raw = nil
        if jobs[i].isOpen { for m in jobs[i].assignees { openJobCounts[m] += 1 } }
    }

    /// Changes order `i` in place, as `updateJob` does jobs. Order actions
    /// throw before they change anything.
    private func updateOrder(_ i: Int, _ body: (inout Order) throws(OrderError) -> Void) throws(OrderError) {
        if i >= orderSnapshots.count { orderSnapshots.append(contentsOf: repeatElement(-1, count: orders.count - orderSnapshots.count)) }
        let previous = orderSnapshots[i]
        let snapshot = previous < snapshotFloor
        let estimate = MemoryLayout<Order>.stride + 48 * (orders[i].updates.count + orders[i].extensionRequests.count)
        if snapshot {
            orderSnapshots[i] = undo.count
            undo.append(.order(i, orders[i], previous: previous))
            hold(estimate)
        }
        do {
            try body(&orders[i])
        } catch {
            if snapshot, case .order(_, let old, _)? = undo.popLast() {
                orders[i] = old
                orderSnapshots[i] = previous
                heldBytes.pointee &-= estimate
            }
            throw error
        }
        orders[i].raw = nil
    }

    /// Counts a decline or an expiry of a `service` job. Only the count is
    /// noted for rollback: a copy of the stats made the next change copy their
    /// dictionaries, at every decline.
    private func countStat(declines: Bool, service: String) {
        let old = declines ? stats.declinesByService[service] : stats.expiredByService[service]
        undo.append(.statCount(declines: declines, service: service, old: old, raw: statsRaw))
        let count = old ?? 0
        // A count stays within what the store reads back (it can't get there by counting).
        let next = min(count + 1, Limits.count)
        if declines { stats.declinesByService[service] = next } else { stats.expiredByService[service] = next }
        statsRaw = nil
        let field = declines ? "declines_by_service" : "expired_by_service"
        record("stats", "stats", "\(field).\(service)", count == 0 ? .null : .int(count), .int(next))
    }

    // MARK: Expiry

    /// Expires every `new`/`opened` job 72 hours old at `now`; returns their indices.
    @discardableResult
    public func expireDueJobs(at now: UnixTime) -> [Int] {
        var expired: [Int] = []
        for i in jobs.indices where jobs[i].lifecycle.isDueToExpire(at: now) {
            let old = jobs[i].status
            updateJob(i) { $0.lifecycle.expireIfDue(at: now) }
            record("job", jobs[i].id, "status", .string(old.rawValue), .string(JobStatus.expired.rawValue))
            countStat(declines: false, service: jobs[i].service)
            expired.append(i)
        }
        return expired
    }

    // MARK: Job actions

    /// Applies a lifecycle transition, recording every field it changed.
    private func transition(_ i: Int, _ body: (inout JobLifecycle) throws(TransitionError) -> Void) throws(TransitionError) {
        let before = jobs[i].lifecycle
        try updateJob(i) { (job: inout Job) throws(TransitionError) in try body(&job.lifecycle) }
        let after = jobs[i].lifecycle
        let id = after.id
        if before.status != after.status { record("job", id, "status", .string(before.status.rawValue), .string(after.status.rawValue)) }
        if before.openedAt != after.openedAt { record("job", id, "opened_at", .time(before.openedAt), .time(after.openedAt)) }
        if before.firstResponseAt != after.firstResponseAt {
            record("job", id, "first_response_at", .time(before.firstResponseAt), .time(after.firstResponseAt))
        }
        if before.completedAt != after.completedAt { record("job", id, "completed_at", .time(before.completedAt), .time(after.completedAt)) }
        if before.declined != after.declined, let d = after.declined {
            record("job", id, "declined", .null, Self.value(of: d))
        }
    }

    static func value(of d: Decline) -> ChangeValue {
        .object([("by", .string(d.by.rawValue)), ("at", .time(d.at)), ("reason", .string(d.reason))])
    }

    public func open(job i: Int, at now: UnixTime) throws(TransitionError) {
        try transition(i) { (l: inout JobLifecycle) throws(TransitionError) in try l.open(at: now) }
    }

    /// An agency message on the job, written by `member` — by default the job's
    /// first assignee, or else the team lead.
    @discardableResult
    public func reply(job i: Int, text: String, member: Int? = nil, at now: UnixTime) throws(DomainError) -> Int {
        do { try jobs[i].lifecycle.check(.reply) } catch { throw .transition(error) }
        guard let author = member ?? jobs[i].assignees.first ?? lead else {
            throw .invalid("job \(jobs[i].id): no member to reply as (it has no assignee and the team no lead): pass a member")
        }
        do {
            try transition(i) { (l: inout JobLifecycle) throws(TransitionError) in try l.reply(at: now) }
        } catch { throw .transition(error) }
        return appendMessage(job: i, from: .member(members[author].id), body: Text(text), at: now)
    }

    /// A merchant's message arriving (from an import).
    @discardableResult
    public func receiveMerchantMessage(job i: Int, body: Text, at now: UnixTime) throws(TransitionError) -> Int {
        // The job's state follows its messages in time, not in the order they reach the store.
        let isLatest = lastMessage(ofJob: i).map { messages[$0].at <= now } ?? true
        try transition(i) { (l: inout JobLifecycle) throws(TransitionError) in try l.receiveMerchantMessage(isLatest: isLatest) }
        return appendMessage(job: i, from: .merchant, body: body, at: now)
    }

    private func appendMessage(job i: Int, from author: MessageAuthor, body: Text, at now: UnixTime) -> Int {
        // Above every `msg<N>` of the store, so never taken.
        let id = "msg\(nextMessageNumber)"
        nextMessageNumber += 1
        messages.append(Message(id: id, job: i, from: author, at: now, body: body))
        if messagesByJob != nil {
            messagesByJob?[i].append(Int32(messages.count - 1))
            let latest = Int(latestMessageByJob[i])
            if latest < 0 || messages[latest].at <= now { latestMessageByJob[i] = Int32(messages.count - 1) }
        }
        if messages.count > messagesStampedFrom { messageStamps.append(newStamp()) }
        undo.append(.appendedMessage)
        hold(MemoryLayout<Message>.stride)  // its body is counted with the change recorded below
        record("message", id, "created", .null, .object([
            ("job", .string(jobs[i].id)), ("from", .string(author.stored)), ("at", .time(now)), ("body", .string(body.string)),
        ]))
        // Every message on an assigned job goes to each assignee (but its own author).
        let job = jobs[i]
        for m in job.assignees where author != .member(members[m].id) {
            let who = author == .merchant ? merchants[job.merchant].name : (memberIndex[authorID(author)].map { members[$0].name } ?? "The agency")
            sendEmail(
                to: members[m].email, subject: "New message on \(job.id): \(job.title.string)",
                body: "\(who) wrote on \(job.id):\n\n\(body.string)", job: i, at: now)
        }
        return messages.count - 1
    }

    private func authorID(_ author: MessageAuthor) -> String {
        if case .member(let id) = author { return id }
        return ""
    }

    public func decline(job i: Int, by: DeclinedBy = .agency, reason: String, at now: UnixTime) throws(TransitionError) {
        try transition(i) { (l: inout JobLifecycle) throws(TransitionError) in try l.decline(by: by, reason: reason, at: now) }
        countStat(declines: true, service: jobs[i].service)
    }

    public func markInactive(job i: Int) throws(TransitionError) {
        try transition(i) { (l: inout JobLifecycle) throws(TransitionError) in try l.markInactive() }
    }

    public func reactivate(job i: Int) throws(TransitionError) {
        let author = lastMessage(ofJob: i).map { messages[$0].from }
        try transition(i) { (l: inout JobLifecycle) throws(TransitionError) in try l.reactivate(lastMessageFrom: author) }
    }

    public func complete(job i: Int, at now: UnixTime) throws(TransitionError) {
        try transition(i) { (l: inout JobLifecycle) throws(TransitionError) in try l.complete(at: now) }
    }

    /// Assigns an active member and emails them; assigning someone already assigned changes nothing.
    public func assign(job i: Int, member m: Int, at now: UnixTime) throws(DomainError) {
        do { try jobs[i].lifecycle.checkEditable(.assign) } catch { throw .transition(error) }
        guard !jobs[i].assignees.contains(m) else { return }
        guard members[m].active else {
            throw .invalid("member \(members[m].id) (\(members[m].name)) is inactive: jobs can't be assigned to them")
        }
        updateJob(i) { $0.assignees.append(m) }
        let id = jobs[i].id
        record("job", id, "assignees", .null, .string(members[m].id))
        let title = jobs[i].title.string
        let expiry: BuiltString = jobs[i].expiresAt.map {
            "\nIt expires at \(RFC3339.format($0)) unless the agency answers or declines it first.\n"
        } ?? ""
        let body: BuiltString = """
            Hi \(members[m].name),

            You were assigned job \(id) from \(merchants[jobs[i].merchant].name) (\(jobs[i].service)):

            \(title)
            \(expiry.string)
            """
        let subject: BuiltString = "Assigned to you: \(id) \(title)"
        sendEmail(to: members[m].email, subject: subject.string, body: body.string, job: i, at: now)
    }

    /// Unassigns a member; unassigning someone not assigned changes nothing.
    public func unassign(job i: Int, member m: Int) throws(TransitionError) {
        try jobs[i].lifecycle.checkEditable(.unassign)
        guard jobs[i].assignees.contains(m) else { return }
        updateJob(i) { $0.assignees.removeAll { $0 == m } }
        record("job", jobs[i].id, "assignees", .string(members[m].id), .null)
    }

    public func note(job i: Int, text: String, member: Int? = nil, at now: UnixTime) throws(TransitionError) {
        try jobs[i].lifecycle.checkEditable(.note)
        let author = member.map { members[$0].id }
        updateJob(i) { $0.notes.append(Note(author: author, at: now, text: Text(text))) }
        record("job", jobs[i].id, "notes", .null, .object([
            ("author", author.map(ChangeValue.string) ?? .null), ("at", .time(now)), ("text", .string(text)),
        ]))
    }

    /// Adds a tag; a tag already there changes nothing.
    public func tag(job i: Int, _ name: String) throws(DomainError) {
        do { try jobs[i].lifecycle.checkEditable(.tag) } catch { throw .transition(error) }
        try Self.checkTag(name)
        guard !jobs[i].tags.contains(name) else { return }
        guard jobs[i].tags.count < Limits.tagsPerObject else {
            throw .invalid("job \(jobs[i].id) already has \(Limits.tagsPerObject) tags, the most a job can have: untag one first")
        }
        updateJob(i) { $0.tags.append(name) }
        record("job", jobs[i].id, "tags", .null, .string(name))
    }

    public func untag(job i: Int, _ name: String) throws(DomainError) {
        do { try jobs[i].lifecycle.checkEditable(.untag) } catch { throw .transition(error) }
        guard jobs[i].tags.contains(name) else { return }
        updateJob(i) { $0.tags.removeAll { $0 == name } }
        record("job", jobs[i].id, "tags", .string(name), .null)
    }

    static func checkTag(_ name: String) throws(DomainError) {
        guard Self.isTag(name) else {
            throw .invalid("bad tag \(ChangeValue.string(name)): a tag is 1 to 64 characters without spaces or control characters")
        }
    }

    /// 1 to 64 bytes, no whitespace, no control character.
    static func isTag(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= Limits.tagBytes else { return false }
        // Tags are ASCII words nearly always: one look at each byte; Unicode's
        // whitespace property only for the others.
        var ascii = true
        for b in name.utf8 {
            if b <= 0x20 || b == 0x7F { return false }
            if b >= 0x80 { ascii = false }
        }
        return ascii || !name.unicodeScalars.contains { $0.properties.isWhitespace || Limits.isControl($0.value) }
    }

    // MARK: Outbox

    /// Adds an email to the outbox.
    @discardableResult
    public func sendEmail(to address: String, subject: String, body: String, job: Int?, at now: UnixTime) -> Int {
        // The next free `e<N>`, taken in the same lookup that checks it.
        var id: String
        repeat {
            id = "e" + String(nextOutboxNumber)
            nextOutboxNumber += 1
        } while !outboxIDs.insert(id).inserted
        outbox.append(OutboxEntry(id: id, to: address, subject: subject, body: Text(body), job: job, at: now))
        if outbox.count > outboxStampedFrom { outboxStamps.append(newStamp()) }
        undo.append(.appendedOutbox)
        hold(MemoryLayout<OutboxEntry>.stride)  // its texts are counted with the change recorded below
        // The whole email: a plan and the audit log are where it is reviewed.
        record("outbox", id, "created", .null, .object([
            ("to", .string(address)), ("subject", .string(subject)), ("job", job.map { .string(jobs[$0].id) } ?? .null),
            ("at", .time(now)), ("body", .string(body)),
        ]))
        return outbox.count - 1
    }

    // MARK: Agency

    public func setPreference(_ name: String, _ value: PreferenceValue) throws(DomainError) {
        var p = agency.preferences
        let old: ChangeValue
        switch (name, value) {
        case ("available", .flag(let b)): old = .bool(p.available); p.available = b
        case ("listed_in_search", .flag(let b)): old = .bool(p.listedInSearch); p.listedInSearch = b
        case ("works_with_dropshippers", .flag(let b)): old = .bool(p.worksWithDropshippers); p.worksWithDropshippers = b
        case ("notification_email", .email(let e)):
            guard Limits.isEmailAddress(e) else { throw .invalid("notification_email must be an email address, not \(ChangeValue.string(e))") }
            old = .string(p.notificationEmail); p.notificationEmail = e
        case ("available", _), ("listed_in_search", _), ("works_with_dropshippers", _):
            throw .invalid("preference '\(name)' is true or false")
        case ("notification_email", _):
            throw .invalid("preference 'notification_email' is an email address")
        default:
            throw .invalid("unknown preference '\(name)' (known: \(Preferences.names.joined(separator: ", ")))")
        }
        guard p != agency.preferences else { return }
        undo.append(.agency(agency, agencyRaw))
        agency.preferences = p
        agencyRaw = nil
        let new: ChangeValue = switch value {
        case .flag(let b): .bool(b)
        case .email(let e): .string(e)
        }
        record("agency", "agency", "preferences.\(name)", old, new)
    }

    // MARK: Orders

    public func start(order i: Int) throws(OrderError) {
        let old = orders[i].status
        try updateOrder(i) { (o: inout Order) throws(OrderError) in try o.start() }
        record("order", orders[i].id, "status", .string(old.rawValue), .string(orders[i].status.rawValue))
    }

    public func postUpdate(order i: Int, text: String, at now: UnixTime) throws(OrderError) {
        try updateOrder(i) { (o: inout Order) throws(OrderError) in try o.postUpdate(Text(text), at: now) }
        record("order", orders[i].id, "updates", .null, .object([("at", .time(now)), ("text", .string(text))]))
    }

    public func deliver(order i: Int, at now: UnixTime) throws(OrderError) {
        let old = orders[i].status
        try updateOrder(i) { (o: inout Order) throws(OrderError) in try o.deliver(at: now) }
        record("order", orders[i].id, "status", .string(old.rawValue), .string(orders[i].status.rawValue))
        record("order", orders[i].id, "delivered_at", .null, .time(now))
    }

    public func requestExtension(order i: Int, days: Int64, reason: String, at now: UnixTime) throws(OrderError) {
        try updateOrder(i) { (o: inout Order) throws(OrderError) in try o.requestExtension(days: days, reason: reason, at: now) }
        record("order", orders[i].id, "extension_requests", .null, .object([
            ("days", .int(days)), ("reason", .string(reason)), ("at", .time(now)), ("status", .string("pending")),
        ]))
    }

    public func answerExtension(order i: Int, accepted: Bool, at now: UnixTime) throws(OrderError) {
        let oldDue = orders[i].dueAt
        try updateOrder(i) { (o: inout Order) throws(OrderError) in try o.answerExtension(accepted: accepted, at: now) }
        record("order", orders[i].id, "extension_requests.status", .string("pending"), .string(accepted ? "accepted" : "declined"))
        if oldDue != orders[i].dueAt { record("order", orders[i].id, "due_at", .time(oldDue), .time(orders[i].dueAt)) }
    }

    public func complete(order i: Int, at now: UnixTime) throws(OrderError) {
        let old = orders[i].status
        try updateOrder(i) { (o: inout Order) throws(OrderError) in try o.complete(at: now) }
        record("order", orders[i].id, "status", .string(old.rawValue), .string(orders[i].status.rawValue))
    }

    public func cancel(order i: Int, by: CanceledBy, at now: UnixTime) throws(OrderError) {
        let old = orders[i].status
        try updateOrder(i) { (o: inout Order) throws(OrderError) in try o.cancel(by: by, at: now) }
        record("order", orders[i].id, "status", .string(old.rawValue), .string(orders[i].status.rawValue))
        record("order", orders[i].id, "canceled", .null, .object([("by", .string(by.rawValue)), ("at", .time(now))]))
    }

    // MARK: New objects (imports)

    /// Whether the imported event `id` was applied to this store.
    public func hasApplied(event id: String) -> Bool {
        buildAppliedEventSet()
        return appliedEventSet[id] != nil
    }

    /// The content digest the event `id` was applied with: nil when it
    /// wasn't applied, 0 when its digest isn't known.
    public func appliedDigest(event id: String) -> UInt64? {
        buildAppliedEventSet()
        return appliedEventSet[id]
    }

    /// Notes the imported event `id` as applied, with its content's `digest`
    /// (saved with the store; rolled back with a savepoint).
    public func markApplied(event id: String, digest: UInt64 = 0) {
        buildAppliedEventSet()
        appliedEvents.append(id)
        appliedDigests.append(digest)
        appliedEventSet[id] = digest
        undo.append(.appliedEvent)
    }

    private func buildAppliedEventSet() {
        guard !appliedEventSetBuilt else { return }
        if appliedDigests.count != appliedEvents.count { appliedDigests = Array(repeating: 0, count: appliedEvents.count) }
        appliedEventSet = Dictionary(zip(appliedEvents, appliedDigests), uniquingKeysWith: { a, _ in a })
        appliedEventSetBuilt = true
    }

    /// Adds a merchant; an id already present is refused.
    @discardableResult
    public func add(merchant: Merchant) throws(DomainError) -> Int {
        guard merchantIndex[merchant.id] == nil else { throw .invalid("merchant \(merchant.id) already exists") }
        var merchant = merchant
        merchant.detach()
        merchants.append(merchant)
        merchantIndex[merchant.id] = merchants.count - 1
        undo.append(.appendedMerchant)
        record("merchant", merchant.id, "created", .null, .object([("name", .string(merchant.name))]))
        return merchants.count - 1
    }

    /// Adds a job (its merchant and assignees must exist); an id already present is refused.
    @discardableResult
    public func add(job: Job) throws(DomainError) -> Int {
        guard jobIndex[job.id] == nil else { throw .invalid("job \(job.id) already exists") }
        guard merchants.indices.contains(job.merchant), job.assignees.allSatisfy(members.indices.contains) else {
            throw .invalid("job \(job.id) refers to an unknown merchant or member")
        }
        var job = job
        job.detach()
        jobs.append(job)
        jobIndex[job.id] = jobs.count - 1
        countService(job.service, 1)
        if messagesByJob != nil {
            messagesByJob?.append([])
            latestMessageByJob.append(-1)
        }
        if job.isOpen { for m in job.assignees { openJobCounts[m] += 1 } }
        undo.append(.appendedJob)
        record("job", job.id, "created", .null, .object([
            ("status", .string(job.status.rawValue)), ("merchant", .string(merchants[job.merchant].id)), ("service", .string(job.service)),
        ]))
        return jobs.count - 1
    }

    @discardableResult
    public func add(contact: Contact) throws(DomainError) -> Int {
        guard contactIndex[contact.id] == nil else { throw .invalid("contact \(contact.id) already exists") }
        var contact = contact
        contact.detach()
        contacts.append(contact)
        contactIndex[contact.id] = contacts.count - 1
        undo.append(.appendedContact)
        record("contact", contact.id, "created", .null, .object([("name", .string(contact.name)), ("email", .string(contact.email))]))
        return contacts.count - 1
    }

    @discardableResult
    public func add(order: Order) throws(DomainError) -> Int {
        guard orderIndex[order.id] == nil else { throw .invalid("order \(order.id) already exists") }
        var order = order
        order.detach()
        orders.append(order)
        orderIndex[order.id] = orders.count - 1
        countService(order.service, 1)
        undo.append(.appendedOrder)
        record("order", order.id, "created", .null, .object([
            ("status", .string(order.status.rawValue)), ("due_at", .time(order.dueAt)),
        ]))
        return orders.count - 1
    }
}

/// A refused action: a transition the state machine forbids, or a bad argument.
public enum DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    case transition(TransitionError)
    case order(OrderError)
    case invalid(String)

    public var description: String {
        switch self {
        case .transition(let e): e.description
        case .order(let e): e.description
        case .invalid(let message): message
        }
    }
}
