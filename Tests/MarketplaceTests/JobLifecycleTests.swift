import Marketplace
import Testing

/// Every transition of a job's lifecycle, allowed and refused.
@Suite struct JobLifecycleTests {
    let created: UnixTime = 1_763_539_200  // 2025-11-19T08:00:00Z
    let now: UnixTime = 1_763_550_000

    func job(_ status: JobStatus) -> JobLifecycle {
        JobLifecycle(id: "J-17", status: status, createdAt: created)
    }

    /// Runs `action` on a job in every status; returns the statuses where it was allowed.
    func allowedStatuses(_ action: (inout JobLifecycle) throws(TransitionError) -> Void) -> Set<JobStatus> {
        var allowed: Set<JobStatus> = []
        for status in JobStatus.allCases {
            var j = job(status)
            let before = j
            do {
                try action(&j)
                allowed.insert(status)
            } catch {
                #expect(j == before, "a refused transition changed the job")
                #expect(error.job == "J-17")
                #expect(error.status == status)
            }
        }
        return allowed
    }

    @Test func open() throws {
        #expect(allowedStatuses { (j) throws(TransitionError) in try j.open(at: now) } == [.new])
        var j = job(.new)
        try j.open(at: now)
        #expect(j.status == .opened)
        #expect(j.openedAt == now)
    }

    @Test func reply() throws {
        #expect(
            allowedStatuses { (j) throws(TransitionError) in try j.reply(at: now) }
                == [.new, .opened, .responded, .awaitingResponse, .inactive, .completed])
        for (from, to) in [(JobStatus.new, JobStatus.responded), (.opened, .responded), (.responded, .responded),
                           (.awaitingResponse, .responded), (.inactive, .inactive), (.completed, .completed)] {
            var j = job(from)
            try j.reply(at: now)
            #expect(j.status == to)
            #expect(j.firstResponseAt == now)
        }
        var j = job(.opened)
        try j.reply(at: now)
        try j.reply(at: now + 60)
        #expect(j.firstResponseAt == now, "set once")
    }

    @Test func merchantMessage() throws {
        #expect(
            allowedStatuses { (j) throws(TransitionError) in try j.receiveMerchantMessage() }
                == Set(JobStatus.allCases).subtracting([.expired]))
        for status in JobStatus.allCases where status != .expired {
            var j = job(status)
            try j.receiveMerchantMessage()
            #expect(j.status == (status == .responded ? .awaitingResponse : status))
        }
    }

    @Test func decline() throws {
        #expect(
            allowedStatuses { (j) throws(TransitionError) in try j.decline(by: .agency, reason: "r", at: now) }
                == [.new, .opened, .responded, .awaitingResponse, .inactive])
        var j = job(.opened)
        try j.decline(by: .merchant, reason: "found someone", at: now)
        #expect(j.status == .declined)
        #expect(j.declined == Decline(by: .merchant, at: now, reason: "found someone"))
    }

    @Test func markInactive() throws {
        #expect(
            allowedStatuses { (j) throws(TransitionError) in try j.markInactive() }
                == [.opened, .responded, .awaitingResponse])
        var j = job(.responded)
        try j.markInactive()
        #expect(j.status == .inactive)
    }

    @Test func reactivate() throws {
        #expect(allowedStatuses { (j) throws(TransitionError) in try j.reactivate(lastMessageFrom: nil) } == [.inactive])
        var byMember = job(.inactive)
        try byMember.reactivate(lastMessageFrom: .member("m1"))
        #expect(byMember.status == .responded)
        var byMerchant = job(.inactive)
        try byMerchant.reactivate(lastMessageFrom: .merchant)
        #expect(byMerchant.status == .awaitingResponse)
    }

    @Test func complete() throws {
        #expect(
            allowedStatuses { (j) throws(TransitionError) in try j.complete(at: now) }
                == [.responded, .awaitingResponse, .inactive])
        var j = job(.awaitingResponse)
        try j.complete(at: now)
        #expect(j.status == .completed)
        #expect(j.completedAt == now)
    }

    @Test(arguments: [JobAction.assign, .unassign, .note, .tag, .untag])
    func editsAreAllowedOnAnyJobButExpired(action: JobAction) {
        #expect(
            allowedStatuses { (j) throws(TransitionError) in try j.checkEditable(action) }
                == Set(JobStatus.allCases).subtracting([.expired]))
    }

    @Test func expiry() {
        let due = created + 72 * 3600
        for status in JobStatus.allCases {
            var j = job(status)
            let early = j.expireIfDue(at: due - 1)
            #expect(!early)
            let expires = status == .new || status == .opened
            #expect(j.expiresAt == (expires ? due : nil))
            let expired = j.expireIfDue(at: due)
            #expect(expired == expires)
            #expect(j.status == (expires ? .expired : status))
        }
    }

    @Test func refusalsNameTheJobAndWhy() {
        var expired = job(.expired)
        let expiredError = #expect(throws: TransitionError.self) { try expired.reply(at: now) }
        #expect(expiredError?.description == "job J-17 is expired: expired jobs can't be acted upon")
        var declined = job(.declined)
        let declinedError = #expect(throws: TransitionError.self) { try declined.complete(at: now) }
        #expect(
            declinedError?.description
                == "job J-17 can't be completed: it is declined (complete is allowed from responded, awaiting_response, inactive)")
    }

    @Test func messageAuthorsRoundTrip() {
        #expect(MessageAuthor(stored: "merchant") == .merchant)
        #expect(MessageAuthor(stored: "member:m1") == .member("m1"))
        #expect(MessageAuthor(stored: "member:") == nil)
        #expect(MessageAuthor(stored: "robot") == nil)
        #expect(MessageAuthor.member("m2").stored == "member:m2")
        #expect(JobStatus(rawValue: "awaiting_response") == .awaitingResponse)
        #expect(JobStatus(rawValue: "opne") == nil)
    }
}
