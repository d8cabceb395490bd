/// A member of the agency's team.
public struct Member: Sendable {
    public var id: String
    public var name: String
    public var email: String
    /// `lead` or `member` in practice; the lead is told of escalations.
    public var role: String
    /// Ids of the services this member offers.
    public var services: [String]
    public var active: Bool
    var raw: SourceSpan?
    var extras = Extras()

    public init(id: String, name: String, email: String, role: String = "member", services: [String], active: Bool = true) {
        self.id = id
        self.name = name
        self.email = email
        self.role = role
        self.services = services
        self.active = active
    }
}

/// A merchant: a store on the marketplace that sends jobs.
public struct Merchant: Sendable {
    public var id: String
    public var name: String
    /// The store's address (`maple-goods.myshopify.com`).
    public var store: String?
    public var email: String?
    public var dropshipper: Bool
    public var industry: String?
    public var country: String?
    var raw: SourceSpan?
    var extras = Extras()

    public init(
        id: String, name: String, store: String? = nil, email: String? = nil, dropshipper: Bool = false,
        industry: String? = nil, country: String? = nil
    ) {
        self.id = id
        self.name = name
        self.store = store
        self.email = email
        self.dropshipper = dropshipper
        self.industry = industry
        self.country = country
    }
}

/// A prospective merchant without a store who wrote by email: never a job.
public struct Contact: Sendable {
    public var id: String
    public var name: String
    public var email: String
    public var at: UnixTime
    public var message: Text
    var raw: SourceSpan?
    var extras = Extras()

    public init(id: String, name: String, email: String, at: UnixTime, message: Text) {
        self.id = id
        self.name = name
        self.email = email
        self.at = at
        self.message = message
    }
}
