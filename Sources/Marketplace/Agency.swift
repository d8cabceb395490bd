/// The agency whose store this is.
public struct Agency: Sendable {
    public var name: String
    public var services: [Service]
    public internal(set) var preferences: Preferences
    var extras = Extras()

    public init(name: String, services: [Service], preferences: Preferences) {
        self.name = name
        self.services = services
        self.preferences = preferences
    }

    /// The service with this id, if the agency offers it.
    public func service(_ id: String) -> Service? {
        services.first { $0.id == id }
    }

    public func offers(_ service: String) -> Bool { self.service(service) != nil }
}

/// A service the agency offers, with the smallest budget it takes.
public struct Service: Sendable, Equatable {
    public var id: String
    public var name: String
    public var minBudget: Double?
    public var currency: String?
    var raw: SourceSpan?

    public init(id: String, name: String, minBudget: Double? = nil, currency: String? = nil) {
        self.id = id
        self.name = name
        self.minBudget = minBudget
        self.currency = currency
    }

    public static func == (a: Service, b: Service) -> Bool {
        a.id == b.id && a.name == b.name && a.minBudget == b.minBudget && a.currency == b.currency
    }
}

/// How the agency appears on the marketplace.
public struct Preferences: Sendable, Equatable {
    /// Can be contacted (false on vacation).
    public var available: Bool
    /// Appears in search and matching.
    public var listedInSearch: Bool
    public var worksWithDropshippers: Bool
    /// Where new-job and message notifications go.
    public var notificationEmail: String
    var extras = Extras()

    public init(available: Bool, listedInSearch: Bool, worksWithDropshippers: Bool, notificationEmail: String) {
        self.available = available
        self.listedInSearch = listedInSearch
        self.worksWithDropshippers = worksWithDropshippers
        self.notificationEmail = notificationEmail
    }

    /// The stored names, in the store's order.
    public static let names = ["available", "listed_in_search", "works_with_dropshippers", "notification_email"]

    public static func == (a: Preferences, b: Preferences) -> Bool {
        a.available == b.available && a.listedInSearch == b.listedInSearch
            && a.worksWithDropshippers == b.worksWithDropshippers && a.notificationEmail == b.notificationEmail
    }
}

/// A preference's value: three are switches, one is an address.
public enum PreferenceValue: Sendable, Equatable {
    case flag(Bool)
    case email(String)
}
