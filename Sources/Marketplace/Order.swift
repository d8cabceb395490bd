/// A sales order's stored status.
public enum OrderStatus: String, Sendable, CaseIterable {
    /// Placed; the buyer's requirements are not in yet.
    case notStarted = "not_started"
    case inProgress = "in_progress"
    /// Delivered, not yet accepted by the buyer.
    case delivered
    case completed
    case canceled
}

public enum CanceledBy: String, Sendable, CaseIterable {
    case mutual
    case support
}

public struct Cancellation: Sendable, Equatable {
    public var by: CanceledBy
    public var at: UnixTime
    var raw: SourceSpan?

    public init(by: CanceledBy, at: UnixTime) {
        self.by = by
        self.at = at
    }

    public static func == (a: Cancellation, b: Cancellation) -> Bool { a.by == b.by && a.at == b.at }
}

/// A delivery extension asked through the resolution center.
public struct ExtensionRequest: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case pending, accepted, declined
    }

    public var days: Int64
    public var reason: String
    public var at: UnixTime
    public var status: Status
    public var answeredAt: UnixTime?
    var raw: SourceSpan?

    public init(days: Int64, reason: String, at: UnixTime, status: Status = .pending, answeredAt: UnixTime? = nil) {
        self.days = days
        self.reason = reason
        self.at = at
        self.status = status
        self.answeredAt = answeredAt
    }

    public static func == (a: ExtensionRequest, b: ExtensionRequest) -> Bool {
        a.days == b.days && a.reason == b.reason && a.at == b.at && a.status == b.status && a.answeredAt == b.answeredAt
    }
}

/// A progress update: a message to the buyer.
public struct OrderUpdate: Sendable {
    public var at: UnixTime
    public var text: Text
    var raw: SourceSpan?

    public init(at: UnixTime, text: Text) {
        self.at = at
        self.text = text
    }
}

/// What can be done to an order.
public enum OrderAction: String, Sendable, CaseIterable {
    case start, deliver, complete, cancel
    case postUpdate = "post an update"
    case requestExtension = "request an extension"
    case answerExtension = "answer an extension request"

    var verb: String {
        switch self {
        case .start: "started"
        case .deliver: "delivered"
        case .complete: "completed"
        case .cancel: "canceled"
        case .postUpdate: "given an update"
        case .requestExtension: "given an extension request"
        case .answerExtension: "given an extension answer"
        }
    }
}

/// A refused order action, naming the order and why.
public struct OrderTransitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let order: String
    public let action: OrderAction
    public let status: OrderStatus
    public let allowed: [OrderStatus]

    public var description: String {
        let from = allowed.map(\.rawValue).joined(separator: ", ")
        return "order \(order) can't be \(action.verb): it is \(status.rawValue) (\(action.rawValue) is allowed from \(from))"
    }
}

/// A bought service with a delivery date.
public struct Order: Sendable {
    public var id: String
    public var buyer: String
    public var service: String
    public internal(set) var status: OrderStatus
    public var placedAt: UnixTime
    public internal(set) var dueAt: UnixTime
    public internal(set) var deliveredAt: UnixTime?
    public internal(set) var completedAt: UnixTime?
    public internal(set) var canceled: Cancellation?
    public internal(set) var extensionRequests: [ExtensionRequest]
    public internal(set) var updates: [OrderUpdate]
    var raw: SourceSpan?
    var extras = Extras()

    public init(
        id: String, buyer: String, service: String, status: OrderStatus = .notStarted, placedAt: UnixTime, dueAt: UnixTime,
        deliveredAt: UnixTime? = nil, completedAt: UnixTime? = nil, canceled: Cancellation? = nil,
        extensionRequests: [ExtensionRequest] = [], updates: [OrderUpdate] = []
    ) {
        self.id = id
        self.buyer = buyer
        self.service = service
        self.status = status
        self.placedAt = placedAt
        self.dueAt = dueAt
        self.deliveredAt = deliveredAt
        self.completedAt = completedAt
        self.canceled = canceled
        self.extensionRequests = extensionRequests
        self.updates = updates
    }

    // MARK: Derived views

    /// not_started or in_progress.
    public var isActive: Bool { status == .notStarted || status == .inProgress }
    /// Placed and not yet delivered.
    public var isPending: Bool { isActive }
    /// Past its due time and not delivered, completed or canceled.
    public func isLate(at now: UnixTime) -> Bool { isActive && now > dueAt }
    /// Hours until `due_at` (negative once past it).
    public func hoursToDue(at now: UnixTime) -> Double { Double(dueAt - now) / 3600 }
    /// The request waiting for the buyer's answer, if any.
    public var pendingExtension: ExtensionRequest? { extensionRequests.last { $0.status == .pending } }

    /// The seller-facing views this order is in: `active`, `pending`, `delivered`, `completed`, `canceled`.
    public var views: [String] {
        switch status {
        case .notStarted, .inProgress: ["active", "pending"]
        case .delivered: ["delivered"]
        case .completed: ["completed"]
        case .canceled: ["canceled"]
        }
    }

    // MARK: Transitions

    /// not_started → in_progress: the buyer's requirements are in.
    public mutating func start() throws(OrderError) {
        try require(.start, from: [.notStarted])
        status = .inProgress
    }

    public mutating func postUpdate(_ text: Text, at now: UnixTime) throws(OrderError) {
        try require(.postUpdate, from: [.notStarted, .inProgress, .delivered])
        updates.append(OrderUpdate(at: now, text: text))
    }

    /// in_progress → delivered.
    public mutating func deliver(at now: UnixTime) throws(OrderError) {
        try require(.deliver, from: [.inProgress])
        status = .delivered
        deliveredAt = now
    }

    /// Asks the buyer for `days` more; pending until the buyer answers. One request at a time.
    public mutating func requestExtension(days: Int64, reason: String, at now: UnixTime) throws(OrderError) {
        try require(.requestExtension, from: [.notStarted, .inProgress])
        guard (1...365).contains(days) else {
            throw .invalid("order \(id): an extension must be 1 to 365 days, not \(days)")
        }
        if let pending = pendingExtension {
            throw .invalid("order \(id) already has an extension request pending (\(pending.days) days, asked \(RFC3339.format(pending.at)))")
        }
        guard RFC3339.adding(days * 86400, to: dueAt) != nil else { throw Self.pastLatest(id, dueAt, days) }
        extensionRequests.append(ExtensionRequest(days: days, reason: reason, at: now))
    }

    /// The buyer's answer to the pending request; accepting moves `due_at`.
    public mutating func answerExtension(accepted: Bool, at now: UnixTime) throws(OrderError) {
        guard let index = extensionRequests.lastIndex(where: { $0.status == .pending }) else {
            throw .invalid("order \(id) has no extension request pending")
        }
        try require(.answerExtension, from: [.notStarted, .inProgress])
        let days = extensionRequests[index].days
        var due = dueAt
        if accepted {
            guard let later = RFC3339.adding(days * 86400, to: dueAt) else { throw Self.pastLatest(id, dueAt, days) }
            due = later
        }
        extensionRequests[index].status = accepted ? .accepted : .declined
        extensionRequests[index].answeredAt = now
        extensionRequests[index].raw = nil
        dueAt = due
    }

    static func pastLatest(_ id: String, _ due: UnixTime, _ days: Int64) -> OrderError {
        .invalid("order \(id): due \(RFC3339.format(due)), \(days) more days would pass 9999-12-31T23:59:59Z, the latest time jobrules handles")
    }

    /// The buyer accepted the delivery: delivered → completed.
    public mutating func complete(at now: UnixTime) throws(OrderError) {
        try require(.complete, from: [.delivered])
        status = .completed
        completedAt = now
    }

    public mutating func cancel(by: CanceledBy, at now: UnixTime) throws(OrderError) {
        try require(.cancel, from: [.notStarted, .inProgress, .delivered])
        status = .canceled
        canceled = Cancellation(by: by, at: now)
    }

    private func require(_ action: OrderAction, from allowed: [OrderStatus]) throws(OrderError) {
        guard allowed.contains(status) else {
            throw .transition(OrderTransitionError(order: id, action: action, status: status, allowed: allowed))
        }
    }
}

/// An order action refused by its state or by its arguments.
public enum OrderError: Error, Sendable, Equatable, CustomStringConvertible {
    case transition(OrderTransitionError)
    case invalid(String)

    public var description: String {
        switch self {
        case .transition(let e): e.description
        case .invalid(let message): message
        }
    }
}
