/// One applied change: what the audit log records and a dry run's plan shows.
///
/// A change to a list field (`Change.listFields`) is one element added (`old`
/// null, `new` the element) or removed (`old` the element, `new` null), so
/// that the audit log grows with the changes, not with the lists' lengths.
public struct Change: Sendable, Equatable {
    /// The fields whose changes are single elements added or removed.
    public static let listFields: Set<String> = ["assignees", "tags", "notes", "updates", "extension_requests"]

    /// Who made it: `expiry`, `rule:<name>`, `import`, `repl`, `exec:<script>`.
    public let actor: String
    /// The kind of object: `job`, `order`, `agency`, `stats`, `message`, `outbox`, `merchant`, `contact`.
    public let kind: String
    /// The object's id (`J-1001`), or the top-level key for `agency` and `stats`.
    public let object: String
    public let field: String
    public let old: ChangeValue
    public let new: ChangeValue

    public init(actor: String, kind: String, object: String, field: String, old: ChangeValue, new: ChangeValue) {
        self.actor = actor
        self.kind = kind
        self.object = object
        self.field = field
        self.old = old
        self.new = new
    }
}

/// A field's value before or after a change, as JSON.
/// Not `indirect`: arrays already hold their elements out of line, and a box for
/// every value was an allocation per change recorded (and a pointer with tag
/// bits that leak checkers can't follow to what it keeps alive).
public enum ChangeValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case number(Double)
    case string(String)
    case array([ChangeValue])
    /// Members in order.
    case object([(String, ChangeValue)])

    public static func time(_ t: UnixTime?) -> ChangeValue { t.map { .string(RFC3339.format($0)) } ?? .null }
    public static func strings(_ list: [String]) -> ChangeValue { .array(list.map { .string($0) }) }

    public static func == (a: ChangeValue, b: ChangeValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// About how many bytes the value holds in memory beyond its own size
    /// (a string's text, an array's or object's storage), for `Store.heldBytes`.
    var footprint: Int {
        switch self {
        case .null, .bool, .int, .number: 0
        case .string(let s): s.utf8.count > 15 ? s.utf8.count + 32 : 0
        case .array(let items): 32 + items.reduce(MemoryLayout<ChangeValue>.stride * items.count) { $0 + $1.footprint }
        case .object(let members):
            32 + members.reduce(MemoryLayout<(String, ChangeValue)>.stride * members.count) { $0 + $1.1.footprint }
        }
    }

    /// Compact JSON, as shown: DEL and C1 controls escaped too.
    public var description: String {
        var out = JSONWriter()
        out.escapesAllControls = true
        out.value(self)
        return out.string
    }
}
