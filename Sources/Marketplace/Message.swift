/// A message of a job's conversation.
public struct Message: Sendable {
    public var id: String
    /// Index of the job in `Store.jobs`.
    public var job: Int
    public var from: MessageAuthor
    public var at: UnixTime
    public var body: Text
    var raw: SourceSpan?
    var extras = Extras()

    public init(id: String, job: Int, from: MessageAuthor, at: UnixTime, body: Text) {
        self.id = id
        self.job = job
        self.from = from
        self.at = at
        self.body = body
    }
}

/// An email jobrules sends (or would send): the outbox is the store's record of them.
public struct OutboxEntry: Sendable {
    public var id: String
    public var to: String
    public var subject: String
    public var body: Text
    /// The job it is about, as an index in `Store.jobs`.
    public var job: Int?
    public var at: UnixTime
    var raw: SourceSpan?
    var extras = Extras()

    public init(id: String, to: String, subject: String, body: Text, job: Int?, at: UnixTime) {
        self.id = id
        self.to = to
        self.subject = subject
        self.body = body
        self.job = job
        self.at = at
    }
}

/// Counters the marketplace's matching looks at: declines and expiries per service.
public struct Stats: Sendable, Equatable {
    public var declinesByService: [String: Int64] = [:]
    public var expiredByService: [String: Int64] = [:]
    var extras = Extras()

    public init(declinesByService: [String: Int64] = [:], expiredByService: [String: Int64] = [:]) {
        self.declinesByService = declinesByService
        self.expiredByService = expiredByService
    }

    public static func == (a: Stats, b: Stats) -> Bool {
        a.declinesByService == b.declinesByService && a.expiredByService == b.expiredByService
    }
}
