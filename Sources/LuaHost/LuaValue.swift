/// A Lua value copied into Swift: plain data, independent of any VM.
public enum LuaValue: Sendable, Equatable {
    case `nil`
    case boolean(Bool)
    /// Lua's integer subtype (`3`).
    case integer(Int64)
    /// Lua's float subtype (`3.0`).
    case number(Double)
    /// A Lua string: bytes, not necessarily UTF-8.
    case string(LuaString)
    case table(LuaTable)
    /// A host object (userdata created by the host), by its payload.
    case object(LuaObject)

    /// Lua's name of the value's type (`nil`, `boolean`, `number`, …); a host object's type name.
    public var typeName: String {
        switch self {
        case .nil: "nil"
        case .boolean: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .table: "table"
        case .object(let object): object.typeName
        }
    }

    public var isNil: Bool { if case .nil = self { true } else { false } }
}

extension LuaValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral
{
    public init(nilLiteral: ()) { self = .nil }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(LuaString(value)) }
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
}

/// A Lua string: a byte sequence. Lua strings may hold any bytes, including
/// zeros and invalid UTF-8; `text` decodes them when they are valid UTF-8.
public struct LuaString: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public init(stringLiteral value: String) { self.init(value) }

    /// The string when its bytes are valid UTF-8, else nil.
    public var text: String? { String(validating: bytes, as: UTF8.self) }

    /// The string, with invalid UTF-8 replaced by U+FFFD.
    public var description: String { String(decoding: bytes, as: UTF8.self) }
}

/// A key of a Lua table that Swift can hash: booleans, numbers and strings.
/// Float keys with an integral value are stored as integers, as Lua does.
public enum LuaKey: Sendable, Hashable, CustomStringConvertible {
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string(LuaString)

    public init(_ number: Double) {
        if let integer = Int64(exactly: number) { self = .integer(integer) } else { self = .number(number) }
    }

    public var value: LuaValue {
        switch self {
        case .boolean(let b): .boolean(b)
        case .integer(let i): .integer(i)
        case .number(let n): .number(n)
        case .string(let s): .string(s)
        }
    }

    public var description: String {
        switch self {
        case .boolean(let b): "\(b)"
        case .integer(let i): "\(i)"
        case .number(let n): "\(n)"
        case .string(let s): s.description
        }
    }
}

extension LuaKey: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .string(LuaString(value)) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

/// A Lua table copied into Swift: its sequence `1...n` in `array`, every other key in `fields`.
public struct LuaTable: Sendable, Equatable {
    public var array: [LuaValue]
    public var fields: [LuaKey: LuaValue]

    public init(array: [LuaValue] = [], fields: [LuaKey: LuaValue] = [:]) {
        self.array = array
        self.fields = fields
    }

    public subscript(key: LuaKey) -> LuaValue {
        if case .integer(let i) = key, i >= 1, i <= array.count { return array[Int(i) - 1] }
        return fields[key] ?? .nil
    }
}

/// A host object copied out of Lua: its type and its Swift payload.
public struct LuaObject: Sendable, Equatable {
    public let typeID: UInt32
    public let typeName: String
    public let payload: any Hashable & Sendable

    public init(typeID: UInt32, typeName: String, payload: any Hashable & Sendable) {
        self.typeID = typeID
        self.typeName = typeName
        self.payload = payload
    }

    public static func == (a: LuaObject, b: LuaObject) -> Bool {
        guard a.typeID == b.typeID else { return false }
        func same<T: Hashable>(_ x: T) -> Bool { (b.payload as? T) == x }
        return same(a.payload)
    }
}
