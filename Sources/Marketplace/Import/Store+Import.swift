/// What importing a feed did, per event type.
public struct ImportOutcome: Sendable {
    public struct Counts: Sendable, Equatable {
        public var applied = 0
        /// Already applied (by an earlier import, or earlier in this feed).
        public var skipped = 0
        /// Bad lines: unreadable, or refused by the store.
        public var refused = 0

        public init() {}
    }

    public internal(set) var counts: [ImportEventType: Counts] = [:]
    /// Lines that could not be typed (not JSON, no known `type`).
    public internal(set) var untypedRefused = 0
    /// Every bad line, in line order.
    public internal(set) var problems: [ImportProblem] = []
    /// The deadline stopped it before the end: the line it was at.
    public internal(set) var stoppedAtLine: Int?

    public var applied: Int { counts.values.reduce(0) { $0 + $1.applied } }
    public var skipped: Int { counts.values.reduce(0) { $0 + $1.skipped } }
    public var refused: Int { counts.values.reduce(0) { $0 + $1.refused } + untypedRefused }
}

extension Store {
    /// Applies a feed's events in order, each through the domain's transitions
    /// and as actor `import:<event id>`. An event whose id the store already
    /// applied is skipped. An event the store refuses is rolled back alone and
    /// reported; the caller saves nothing unless `problems` is empty. Past
    /// `deadline` (`monotonicSeconds`), it stops (`stoppedAtLine`).
    public func apply(_ feed: ImportFeed, deadline: Double? = nil) -> ImportOutcome {
        var outcome = ImportOutcome()
        // A line refused while reading counts once, whatever its number of problems.
        var refusedLines: [Int: String?] = [:]
        for problem in feed.problems { refusedLines[problem.line] = problem.type }
        for type in refusedLines.values {
            if let type = type.flatMap(ImportEventType.init(rawValue:)) {
                outcome.counts[type, default: .init()].refused += 1
            } else {
                outcome.untypedRefused += 1
            }
        }
        var problems = feed.problems
        let saved = actor
        defer { actor = saved }
        for (n, event) in feed.events.enumerated() {
            if n & 1023 == 0, let deadline, monotonicSeconds() >= deadline {
                outcome.stoppedAtLine = event.line
                break
            }
            if let digest = appliedDigest(event: event.id) {
                // A replay is skipped; the id again with other content is another event under a taken id.
                if digest == 0 || digest == event.digest {
                    outcome.counts[event.type, default: .init()].skipped += 1
                } else {
                    outcome.counts[event.type, default: .init()].refused += 1
                    problems.append(ImportProblem(
                        line: event.line, event: event.id, type: event.type.rawValue,
                        message: "this event id was applied before with other content: an id names one event, "
                            + "so a correction needs an id of its own"))
                }
                continue
            }
            actor = "import:" + event.id
            let savepoint = savepoint()
            do {
                try apply(event)
                markApplied(event: event.id, digest: event.digest)
                outcome.counts[event.type, default: .init()].applied += 1
            } catch {
                rollback(to: savepoint)
                outcome.counts[event.type, default: .init()].refused += 1
                problems.append(ImportProblem(line: event.line, event: event.id, type: event.type.rawValue, message: error.description))
            }
        }
        outcome.problems = problems.sorted { $0.line < $1.line }
        return outcome
    }

    private func apply(_ event: ImportEvent) throws(DomainError) {
        let at = event.at
        switch event.payload {
        case .job(let job, let merchant):
            var job = job
            guard job.createdAt <= at else {
                throw .invalid("job \(job.id) says it was created at \(RFC3339.format(job.createdAt)), after this event (\(RFC3339.format(at)))")
            }
            if let m = self.merchant(merchant.id) {
                job.merchant = m
            } else {
                job.merchant = try add(merchant: merchant)
            }
            let i = try add(job: job)
            notifyAgency(ofNewJob: i, at: at)
        case .message(let id, let body):
            let i = try existingJob(id, notBefore: at, what: "a message")
            let assigned = !jobs[i].assignees.isEmpty
            do { try receiveMerchantMessage(job: i, body: body, at: at) } catch { throw .transition(error) }
            if !assigned { notifyAgency(ofMessageOn: i, body: body, at: at) }
        case .merchantDecline(let id, let reason):
            let i = try existingJob(id, notBefore: at, what: "a decline")
            do { try decline(job: i, by: .merchant, reason: reason, at: at) } catch { throw .transition(error) }
        case .contact(let contact):
            try add(contact: contact)
        case .order(let order):
            guard order.dueAt >= order.placedAt else {
                throw .invalid("order \(order.id) would be due \(RFC3339.format(order.dueAt)), before it was placed (\(RFC3339.format(order.placedAt)))")
            }
            try add(order: order)
        case .orderAction(let id):
            let i = try existingOrder(id, notBefore: at)
            do {
                switch event.type {
                case .orderRequirementsSubmitted: try start(order: i)
                default: try complete(order: i, at: at)
                }
            } catch { throw .order(error) }
        case .cancel(let id, let by):
            let i = try existingOrder(id, notBefore: at)
            do { try cancel(order: i, by: by, at: at) } catch { throw .order(error) }
        case .extensionAnswer(let id, let accepted):
            let i = try existingOrder(id, notBefore: at)
            if let pending = orders[i].pendingExtension, at < pending.at {
                throw .invalid("order \(id): an answer at \(RFC3339.format(at)) to the extension asked at \(RFC3339.format(pending.at)), before it was asked")
            }
            do { try answerExtension(order: i, accepted: accepted, at: at) } catch { throw .order(error) }
        }
    }

    /// The job `id`, which an event at `at` acts on: created by then.
    private func existingJob(_ id: String, notBefore at: UnixTime, what: String) throws(DomainError) -> Int {
        guard let i = job(id) else { throw .invalid("no job \(ChangeValue.string(id)) in the store") }
        guard at >= jobs[i].createdAt else {
            throw .invalid("\(what) at \(RFC3339.format(at)) on job \(id), which was created later (\(RFC3339.format(jobs[i].createdAt)))")
        }
        return i
    }

    /// The order `id`, which an event at `at` acts on: placed by then.
    private func existingOrder(_ id: String, notBefore at: UnixTime) throws(DomainError) -> Int {
        guard let i = order(id) else { throw .invalid("no order \(ChangeValue.string(id)) in the store") }
        guard at >= orders[i].placedAt else {
            throw .invalid("an event at \(RFC3339.format(at)) on order \(id), which was placed later (\(RFC3339.format(orders[i].placedAt)))")
        }
        return i
    }

    /// A new job goes to the agency's notification address.
    private func notifyAgency(ofNewJob i: Int, at now: UnixTime) {
        let address = agency.preferences.notificationEmail
        guard !address.isEmpty else { return }
        let job = jobs[i]
        var body = "\(merchants[job.merchant].name) sent a \(job.source == .direct ? "direct request" : "matched job") for \(job.service):\n\n\(job.title.string)\n"
        if let budget = job.budget, budget.min != nil || budget.max != nil {
            let amounts = [budget.min, budget.max].compactMap { $0.map { $0.rounded() == $0 ? String(Int64($0)) : String($0) } }
            body += "\nBudget: \(amounts.joined(separator: "–"))\(budget.currency.map { " " + $0 } ?? "")\n"
        }
        if let expires = job.expiresAt {
            body += "\nIt expires at \(RFC3339.format(expires)) unless the agency answers or declines it first.\n"
        }
        sendEmail(to: address, subject: "New job: \(job.id) \(job.title.string)", body: body, job: i, at: now)
    }

    /// A merchant's message on a job nobody is assigned to goes to the agency's notification address.
    private func notifyAgency(ofMessageOn i: Int, body: Text, at now: UnixTime) {
        let address = agency.preferences.notificationEmail
        guard !address.isEmpty else { return }
        let job = jobs[i]
        sendEmail(
            to: address, subject: "New message on \(job.id): \(job.title.string)",
            body: "\(merchants[job.merchant].name) wrote on \(job.id) (no one is assigned):\n\n\(body.string)", job: i, at: now)
    }
}
