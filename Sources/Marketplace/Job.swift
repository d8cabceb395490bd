/// Where a job came from.
public enum JobSource: String, Sendable, CaseIterable {
    /// The matching algorithm sent the merchant's requirements to several experts.
    case match
    /// The merchant found the agency's profile and wrote to it.
    case direct
}

/// A job's state, stored as these exact strings.
public enum JobStatus: String, Sendable, CaseIterable {
    case new
    case opened
    case responded
    case awaitingResponse = "awaiting_response"
    case declined
    case expired
    case inactive
    case completed

    /// Every status but `expired`: what edits and merchant messages accept.
    public static let actionable: [JobStatus] = allCases.filter { $0 != .expired }
}

/// Who declined a job.
public enum DeclinedBy: String, Sendable, CaseIterable {
    case agency
    case merchant
}

public struct Decline: Sendable, Equatable {
    public var by: DeclinedBy
    public var at: UnixTime
    public var reason: String
    var raw: SourceSpan?

    public init(by: DeclinedBy, at: UnixTime, reason: String) {
        self.by = by
        self.at = at
        self.reason = reason
    }

    public static func == (a: Decline, b: Decline) -> Bool {
        a.by == b.by && a.at == b.at && a.reason == b.reason
    }
}

/// Who wrote a message: the merchant, or a member of the agency.
public enum MessageAuthor: Sendable, Equatable, Hashable {
    case merchant
    case member(String)

    /// The stored form: `merchant` or `member:<id>`.
    public var stored: String {
        switch self {
        case .merchant: "merchant"
        case .member(let id): "member:\(id)"
        }
    }

    public init?(stored: String) {
        if stored == "merchant" {
            self = .merchant
            return
        }
        // `hasPrefix` and a UTF-8 offset: the generic `starts(with:)` over the
        // UTF-8 view and `dropFirst` by characters were slower on every message read.
        guard stored.utf8.count > 7, stored.hasPrefix("member:") else { return nil }
        self = .member(String(stored[stored.utf8.index(stored.startIndex, offsetBy: 7)...]))
    }
}

/// A job's lifecycle: its transitions (docs/lua-api.md), enforced here and nowhere
/// else. Each method changes the job or throws without changing it.
public struct JobLifecycle: Sendable, Equatable {
    /// Jobs expire this long after creation without a first agency message or a decline.
    public static let expiryDelay: UnixTime = 72 * 3600

    public let id: String
    public private(set) var status: JobStatus
    public let createdAt: UnixTime
    public private(set) var openedAt: UnixTime?
    public private(set) var firstResponseAt: UnixTime?
    public private(set) var declined: Decline?
    public private(set) var completedAt: UnixTime?

    public init(
        id: String, status: JobStatus, createdAt: UnixTime, openedAt: UnixTime? = nil,
        firstResponseAt: UnixTime? = nil, declined: Decline? = nil, completedAt: UnixTime? = nil
    ) {
        self.id = id
        self.status = status
        self.createdAt = createdAt
        self.openedAt = openedAt
        self.firstResponseAt = firstResponseAt
        self.declined = declined
        self.completedAt = completedAt
    }

    /// When the job expires if nobody answers, or nil once it can't expire
    /// (past 9999, where no clock of a run can reach, it never does).
    public var expiresAt: UnixTime? {
        switch status {
        case .new, .opened: RFC3339.adding(Self.expiryDelay, to: createdAt)
        default: nil
        }
    }

    /// `new`/`opened` and 72 hours old at `now`.
    public func isDueToExpire(at now: UnixTime) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }

    // MARK: Transitions

    /// new → opened.
    public mutating func open(at now: UnixTime) throws(TransitionError) {
        try check(.open)
        status = .opened
        openedAt = now
    }

    /// An agency message: responded (inactive and completed stay); the first one sets `firstResponseAt`.
    public mutating func reply(at now: UnixTime) throws(TransitionError) {
        try check(.reply)
        if status != .inactive && status != .completed { status = .responded }
        if firstResponseAt == nil { firstResponseAt = now }
    }

    /// A merchant's message: awaiting_response when it was responded; otherwise
    /// unchanged. One older than the job's latest message (a feed that
    /// arrives late) answers nothing that came after it: no status change.
    public mutating func receiveMerchantMessage(isLatest: Bool = true) throws(TransitionError) {
        try check(.merchantMessage)
        if isLatest, status == .responded { status = .awaitingResponse }
    }

    public mutating func decline(by: DeclinedBy, reason: String, at now: UnixTime) throws(TransitionError) {
        try check(.decline)
        status = .declined
        declined = Decline(by: by, at: now, reason: reason)
    }

    public mutating func markInactive() throws(TransitionError) {
        try check(.markInactive)
        status = .inactive
    }

    /// inactive → responded or awaiting_response, from the author of the last message
    /// (the agency's: responded; the merchant's: awaiting_response; none: responded).
    public mutating func reactivate(lastMessageFrom author: MessageAuthor?) throws(TransitionError) {
        try check(.reactivate)
        status = author == .merchant ? .awaitingResponse : .responded
    }

    public mutating func complete(at now: UnixTime) throws(TransitionError) {
        try check(.complete)
        status = .completed
        completedAt = now
    }

    /// Expires the job when it is due (the host does this from the run's clock);
    /// returns whether it expired.
    @discardableResult
    public mutating func expireIfDue(at now: UnixTime) -> Bool {
        guard isDueToExpire(at: now) else { return false }
        status = .expired
        return true
    }

    /// Assign, unassign, note, tag: allowed on any job but an expired one.
    public func checkEditable(_ action: JobAction) throws(TransitionError) {
        try check(action)
    }

    /// Throws unless `action` is allowed from the job's status.
    public func check(_ action: JobAction) throws(TransitionError) {
        let allowed = action.allowedFrom
        guard allowed.contains(status) else {
            throw TransitionError(job: id, action: action, status: status, allowed: allowed)
        }
    }
}

extension JobLifecycle {
    /// Drops the decline's span (see `Job.detach`).
    mutating func detach() { declined?.raw = nil }
}

/// What can be done to a job.
public enum JobAction: String, Sendable, CaseIterable {
    case open, reply, decline, complete, reactivate, assign, unassign, note, tag, untag
    case merchantMessage = "merchant message"
    case markInactive = "mark inactive"

    /// The statuses the transition table allows this action from.
    public var allowedFrom: [JobStatus] {
        switch self {
        case .open: [.new]
        case .reply: [.new, .opened, .responded, .awaitingResponse, .inactive, .completed]
        case .decline: [.new, .opened, .responded, .awaitingResponse, .inactive]
        case .markInactive: [.opened, .responded, .awaitingResponse]
        case .reactivate: [.inactive]
        case .complete: [.responded, .awaitingResponse, .inactive]
        case .merchantMessage, .assign, .unassign, .note, .tag, .untag: JobStatus.actionable
        }
    }

    var verb: String {
        switch self {
        case .open: "opened"
        case .reply: "replied to"
        case .decline: "declined"
        case .complete: "completed"
        case .reactivate: "reactivated"
        case .assign: "assigned"
        case .unassign: "unassigned"
        case .note: "noted"
        case .tag: "tagged"
        case .untag: "untagged"
        case .merchantMessage: "given a merchant message"
        case .markInactive: "marked inactive"
        }
    }
}

/// A refused transition, naming the job and why.
public struct TransitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let job: String
    public let action: JobAction
    public let status: JobStatus
    public let allowed: [JobStatus]

    public var description: String {
        if status == .expired { return "job \(job) is expired: expired jobs can't be acted upon" }
        let from = allowed.map(\.rawValue).joined(separator: ", ")
        return "job \(job) can't be \(action.verb): it is \(status.rawValue) (\(action.rawValue) is allowed from \(from))"
    }
}

/// A job: work a merchant asked for, as the store holds it.
public struct Job: Sendable {
    /// Status and timestamps; only the lifecycle's transitions change them.
    public internal(set) var lifecycle: JobLifecycle
    public let source: JobSource
    /// Index of the merchant in `Store.merchants`.
    public internal(set) var merchant: Int
    /// The service wanted (an id, offered by the agency or not).
    public let service: String
    public let title: Text
    public let details: Text
    public internal(set) var budget: Budget?
    public internal(set) var priorities: Priorities?
    /// Indices in `Store.members`, in the order they were assigned.
    public internal(set) var assignees: [Int]
    public internal(set) var tags: [String]
    public internal(set) var notes: [Note]
    /// The job's bytes in the loaded file while nothing changed it.
    var raw: SourceSpan?
    var extras = Extras()

    public init(
        lifecycle: JobLifecycle, source: JobSource, merchant: Int, service: String, title: Text, details: Text = "",
        budget: Budget? = nil, priorities: Priorities? = nil, assignees: [Int] = [], tags: [String] = [], notes: [Note] = []
    ) {
        self.lifecycle = lifecycle
        self.source = source
        self.merchant = merchant
        self.service = service
        self.title = title
        self.details = details
        self.budget = budget
        self.priorities = priorities
        self.assignees = assignees
        self.tags = tags
        self.notes = notes
    }

    public var id: String { lifecycle.id }
    public var status: JobStatus { lifecycle.status }
    public var createdAt: UnixTime { lifecycle.createdAt }
    public var openedAt: UnixTime? { lifecycle.openedAt }
    public var firstResponseAt: UnixTime? { lifecycle.firstResponseAt }
    public var declined: Decline? { lifecycle.declined }
    public var completedAt: UnixTime? { lifecycle.completedAt }
    public var expiresAt: UnixTime? { lifecycle.expiresAt }

    /// Whether the job counts towards a member's open jobs: not declined, expired or completed.
    public var isOpen: Bool {
        switch status {
        case .declined, .expired, .completed: false
        default: true
        }
    }
}

/// What the merchant is ready to pay.
public struct Budget: Sendable, Equatable {
    public var min: Double?
    public var max: Double?
    public var currency: String?
    var raw: SourceSpan?

    public init(min: Double?, max: Double?, currency: String?) {
        self.min = min
        self.max = max
        self.currency = currency
    }

    public static func == (a: Budget, b: Budget) -> Bool {
        a.min == b.min && a.max == b.max && a.currency == b.currency
    }
}

/// How much the merchant cares about time, cost and quality.
public struct Priorities: Sendable, Equatable {
    public enum Level: String, Sendable, CaseIterable {
        case low, medium, high
    }

    public var time: Level?
    public var cost: Level?
    public var quality: Level?
    var raw: SourceSpan?

    public init(time: Level?, cost: Level?, quality: Level?) {
        self.time = time
        self.cost = cost
        self.quality = quality
    }

    public static func == (a: Priorities, b: Priorities) -> Bool {
        a.time == b.time && a.cost == b.cost && a.quality == b.quality
    }
}

/// An internal note on a job, never shown to the merchant.
public struct Note: Sendable {
    /// The member who wrote it, or nil when a rule or script did.
    public var author: String?
    public var at: UnixTime
    public var text: Text
    var raw: SourceSpan?

    public init(author: String?, at: UnixTime, text: Text) {
        self.author = author
        self.at = at
        self.text = text
    }
}
