import CLua
import LuaHost

/// Renders Lua values for the prompt: strings quoted, tables with their
/// sequence first and other keys sorted, compact when they fit on a line,
/// cycle-safe, cut at a depth and a number of entries; host objects as their
/// one-line summary. It reads raw (no metamethod, no user code runs) and is
/// used inside `LuaState.inspect`/`execute(inspect:)`, where allocations
/// don't fail.
public struct ValuePrinter {
    /// Tables nested deeper are shown as `{…}` with their size.
    public var maxDepth = 3
    /// Entries shown per table; the rest are counted.
    public var maxItems = 40
    /// A table is written on one line when it fits in this many columns.
    public var width = 100
    /// Strings inside tables are cut at this many characters.
    public var maxStringInTable = 80

    public init() {}

    /// Everything, for `:show`.
    public static var full: ValuePrinter {
        var p = ValuePrinter()
        p.maxDepth = 12
        p.maxItems = 100_000
        p.maxStringInTable = Int.max
        return p
    }

    /// The value at stack index `n`, to be printed at column `indent` (the
    /// lines of a table that doesn't fit on one are indented from there).
    public func render(_ call: LuaCall, _ n: Int32, indent: Int = 0) -> String {
        var visiting: Set<UnsafeRawPointer> = []
        return layout(node(call, call.absolute(n), depth: 0, topLevel: true, visiting: &visiting), indent: indent)
    }

    // MARK: The tree

    indirect enum Node {
        case atom(String)
        /// Entries are `key = value` or bare (sequence); `more` counts entries left out.
        case table(entries: [(key: String?, value: Node)], more: Int)
    }

    func node(_ call: LuaCall, _ n: Int32, depth: Int, topLevel: Bool, visiting: inout Set<UnsafeRawPointer>) -> Node {
        let L = call.state
        switch call.type(n) {
        case .nil, .none: return .atom("nil")
        case .boolean: return .atom(call.truth(n) ? "true" : "false")
        case .number: return .atom(Self.number(call, n))
        case .string:
            let bytes = Self.bytes(L, n)
            return .atom(Self.quote(bytes, limit: topLevel ? Int.max : maxStringInTable))
        case .function:
            return .atom(Self.function(L, n))
        case .userdata:
            if let summary = call.objectDescription(n) { return .atom(summary) }
            return .atom("userdata")
        case .lightUserdata: return .atom("userdata")
        case .thread: return .atom("thread")
        case .table:
            return table(call, n, depth: depth, visiting: &visiting)
        }
    }

    func table(_ call: LuaCall, _ n: Int32, depth: Int, visiting: inout Set<UnsafeRawPointer>) -> Node {
        let L = call.state
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        var t = n
        // A read-only proxy (`jobs`, `time`) is empty: show the table behind it.
        if Self.isEmpty(L, t), lua_getmetatable(L, t) != 0 {
            call.rawField(-1, "__index")
            if call.type(-1) == .table {
                t = call.absolute(-1)
            }
        }
        guard let identity = lua_topointer(L, t) else { return .atom("{}") }
        if visiting.contains(identity) { return .atom("<cycle>") }
        let count = Self.count(L, t)
        if count == 0 { return .atom("{}") }
        if depth >= maxDepth { return .atom("{… \(count) \(count == 1 ? "entry" : "entries")}") }
        guard lua_checkstack(L, 6) != 0 else { return .atom("{…}") }
        visiting.insert(identity)
        defer { visiting.remove(identity) }

        var entries: [(key: String?, value: Node)] = []
        // The sequence first, in order.
        let sequence = Int(lua_rawlen(L, t))
        var shown = 0
        while shown < sequence && shown < maxItems {
            lua_rawgeti(L, t, lua_Integer(shown + 1))
            entries.append((nil, node(call, call.absolute(-1), depth: depth + 1, topLevel: false, visiting: &visiting)))
            call.pop()
            shown += 1
        }
        // Then the other keys, sorted: numbers, strings (byte order), the rest by kind.
        var keys: [Key] = []
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            call.pop()
            if let key = Key(L, -1, sequence: sequence) { keys.append(key) }
        }
        keys.sort()
        for key in keys where shown < maxItems {
            key.push(L)
            lua_rawget(L, t)
            entries.append((key.display, node(call, call.absolute(-1), depth: depth + 1, topLevel: false, visiting: &visiting)))
            call.pop()
            shown += 1
        }
        return .table(entries: entries, more: max(0, count - shown))
    }

    // MARK: Layout

    func layout(_ node: Node, indent: Int) -> String {
        switch node {
        case .atom(let text): return text
        case .table(let entries, let more):
            var parts = entries.map { entry in
                (entry.key.map { $0 + " = " } ?? "") + layout(entry.value, indent: indent + 2)
            }
            if more > 0 { parts.append("… (\(more) more)") }
            let line = "{" + parts.joined(separator: ", ") + "}"
            if indent + line.count <= width, !line.contains("\n") { return line }
            let pad = String(repeating: " ", count: indent + 2)
            return "{\n" + parts.map { pad + $0 }.joined(separator: ",\n") + "\n" + String(repeating: " ", count: indent) + "}"
        }
    }

    // MARK: Atoms

    /// Lua's own formatting (`1`, `1.0`, `1e+20`, `inf`), on a copy: the value stays a number.
    static func number(_ call: LuaCall, _ n: Int32) -> String {
        call.pushCopy(of: n)
        defer { call.pop() }
        var length = 0
        guard let chars = lua_tolstring(call.state, -1, &length) else { return "?" }
        return String(decoding: UnsafeRawBufferPointer(start: chars, count: length), as: UTF8.self)
    }

    static func bytes(_ L: OpaquePointer, _ n: Int32) -> [UInt8] {
        var length = 0
        guard let chars = lua_tolstring(L, n, &length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: chars, count: length))
    }

    /// A string as a Lua literal: escapes for quotes, backslashes, control
    /// characters and bytes that are not UTF-8; cut at `limit` characters.
    static func quote(_ bytes: [UInt8], limit: Int) -> String {
        var out = "\""
        var characters = 0
        let text = String(decoding: bytes, as: UTF8.self)
        let valid = Array(text.utf8) == bytes
        if valid {
            for scalar in text.unicodeScalars {
                if characters >= limit {
                    out += "…"
                    break
                }
                characters += 1
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default:
                    if scalar.value < 0x20 || scalar.value == 0x7F {
                        out += "\\\(scalar.value)"
                    } else if scalar.value >= 0x80 && scalar.value < 0xA0 {
                        // C1 controls too (a terminal may obey U+009B as an escape), in Lua's \u{…} form.
                        out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
        } else {
            for byte in bytes {
                if characters >= limit {
                    out += "…"
                    break
                }
                characters += 1
                switch byte {
                case UInt8(ascii: "\""): out += "\\\""
                case UInt8(ascii: "\\"): out += "\\\\"
                case UInt8(ascii: "\n"): out += "\\n"
                case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
                default: out += "\\\(byte)"
                }
            }
        }
        return out + "\""
    }

    /// `function <stdin:3>` for Lua functions, `function: builtin` for the host's and Lua's own.
    static func function(_ L: OpaquePointer, _ n: Int32) -> String {
        if lua_iscfunction(L, n) != 0 { return "function: builtin" }
        lua_pushvalue(L, n)
        var ar = lua_Debug()
        guard lua_getinfo(L, ">S", &ar) != 0 else { return "function" }
        let source = withUnsafeBytes(of: ar.short_src) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return "function <\(source):\(ar.linedefined)>"
    }

    static func isEmpty(_ L: OpaquePointer, _ t: Int32) -> Bool {
        lua_pushnil(L)
        guard lua_next(L, t) != 0 else { return true }
        lua_settop(L, -3)
        return false
    }

    static func count(_ L: OpaquePointer, _ t: Int32) -> Int {
        var n = 0
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            lua_settop(L, -2)
            n += 1
        }
        return n
    }
}

/// A table key outside the sequence, as it sorts and shows.
struct Key: Comparable {
    enum Value {
        case integer(lua_Integer)
        case float(Double)
        case string([UInt8])
        case boolean(Bool)
        /// Tables, functions and the like: shown by kind, in traversal order.
        case other(String, Int)
    }

    let value: Value

    init?(_ L: OpaquePointer, _ n: Int32, sequence: Int) {
        switch lua_type(L, n) {
        case LUA_TNUMBER:
            if lua_isinteger(L, n) != 0 {
                let i = lua_tointegerx(L, n, nil)
                if i >= 1 && i <= sequence { return nil }
                value = .integer(i)
            } else {
                value = .float(lua_tonumberx(L, n, nil))
            }
        case LUA_TSTRING: value = .string(ValuePrinter.bytes(L, n))
        case LUA_TBOOLEAN: value = .boolean(lua_toboolean(L, n) != 0)
        default:
            value = .other(String(cString: lua_typename(L, lua_type(L, n))), Int(bitPattern: lua_topointer(L, n)))
        }
    }

    var rank: Int {
        switch value {
        case .integer, .float: 0
        case .string: 1
        case .boolean: 2
        case .other: 3
        }
    }

    var number: Double {
        switch value {
        case .integer(let i): Double(i)
        case .float(let f): f
        default: 0
        }
    }

    static func < (a: Key, b: Key) -> Bool {
        if a.rank != b.rank { return a.rank < b.rank }
        switch (a.value, b.value) {
        case (.string(let x), .string(let y)): return x.lexicographicallyPrecedes(y)
        case (.boolean(let x), .boolean(let y)): return !x && y
        case (.other(let x, let p), .other(let y, let q)): return x != y ? x < y : p < q
        default: return a.number < b.number
        }
    }

    static func == (a: Key, b: Key) -> Bool { !(a < b) && !(b < a) }

    /// Pushes the key again (to read its value).
    func push(_ L: OpaquePointer) {
        switch value {
        case .integer(let i): lua_pushinteger(L, i)
        case .float(let f): lua_pushnumber(L, f)
        case .string(let bytes):
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
            }
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .other: lua_pushnil(L)
        }
    }

    /// `name`, `["two words"]`, `[1.5]`, `[true]`, `[table]`.
    var display: String {
        switch value {
        case .integer(let i): return "[\(i)]"
        case .float(let f): return "[\(f)]"
        case .string(let bytes):
            if Identifier.isName(bytes) { return String(decoding: bytes, as: UTF8.self) }
            return "[" + ValuePrinter.quote(bytes, limit: 80) + "]"
        case .boolean(let b): return "[\(b)]"
        case .other(let kind, _): return "[\(kind)]"
        }
    }
}

/// Lua's names: letters, digits and `_`, not starting with a digit, not a keyword.
enum Identifier {
    static let keywords: Set<String> = [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
        "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    ]

    static func isName(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, !(0x30...0x39).contains(first) else { return false }
        guard bytes.allSatisfy(isNameByte) else { return false }
        return !keywords.contains(String(decoding: bytes, as: UTF8.self))
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x5F
    }
}
