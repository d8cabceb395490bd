import CLua
import CLuaShim
import LuaHost

/// Tab completion: globals and keywords, table keys after `.`, fields of host
/// objects after `.` and their methods after `:`. The expression before the
/// dot is followed statically: tables by raw lookups (through `__index`
/// tables), host objects by their type, and calls by the result types of the
/// API reference (`jobs.get("J-5"):` is a Job). No user code and no
/// metamethod runs.
public struct Completer {
    public struct Candidate: Equatable, Sendable {
        public let name: String
        public let isFunction: Bool
    }

    let lua: LuaState
    let reference: APIReference
    /// The store's values for a place in the code: `jobs.status` (a filter
    /// field's values), `jobs.get` (a function's string argument), `Job:assign`.
    let values: (String) -> [String]

    public init(lua: LuaState, reference: APIReference = .shipped, values: @escaping (String) -> [String] = { _ in [] }) {
        self.lua = lua
        self.reference = reference
        self.values = values
    }

    /// Candidates for `word`, the identifier (or the text of a string) being typed after `before`.
    public func complete(before: String, word: String) -> [Candidate] {
        var tokens = LuaTokens(before)
        var inString = false
        // Inside a string being typed: what comes before it says what goes
        // in it; its text so far (`typed`, broken into words at `-` or `.`)
        // is part of what candidates must start with.
        var typed = ""
        if tokens == nil, let quote = before.lastIndex(where: { $0 == "\"" || $0 == "'" }),
            !before[before.index(after: quote)...].contains(before[quote]), let outside = LuaTokens(String(before[..<quote]))
        {
            tokens = outside
            inString = true
            typed = String(before[before.index(after: quote)...])
        }
        guard let tokens else { return [] }  // inside a comment, or a string of something else
        let found: [Candidate]
        if !inString, let last = tokens.list.last, case .symbol(let separator) = last, separator == "." || separator == ":" {
            guard let chain = tokens.receiver(endingBefore: tokens.list.count - 1) else { return [] }
            found = (try? lua.inspect { call in members(call, chain, separator: separator) }) ?? []
        } else if let spot = FilterSpot(tokens.list) {
            found = filterCandidates(spot, inString: inString)
        } else if inString {
            found = (try? lua.inspect { call in argumentValues(call, tokens.list) }) ?? []
        } else {
            found = (try? lua.inspect { call in globals(call) }) ?? []
        }
        var seen: Set<String> = []
        let wanted = typed + word
        return found
            .filter { $0.name.hasPrefix(wanted) && (wanted.hasPrefix("_") || !$0.name.hasPrefix("_")) }
            .map { typed.isEmpty ? $0 : Candidate(name: String($0.name.dropFirst(typed.count)), isFunction: $0.isFunction) }
            .sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
            .filter { seen.insert($0.name).inserted }
    }

    // MARK: Filters and arguments

    /// Field names in key position; the field's values in value position
    /// (quoted unless a string was opened; `true`/`false` for flags).
    func filterCandidates(_ spot: FilterSpot, inString: Bool) -> [Candidate] {
        let filterClass = spot.collection == "orders" ? "OrderFilter" : "JobFilter"
        guard let field = spot.field else {
            guard !inString else { return [] }
            return (reference.objectClass(filterClass)?.fields ?? []).map { Candidate(name: $0.name, isFunction: false) }
        }
        // `merchant = {` and `assignee = {` also take the related object's fields.
        if spot.nested, !inString, let related = Self.relatedFields[field] {
            return related.map { Candidate(name: $0, isFunction: false) } + values(spot.collection + "." + field).map {
                Candidate(name: "\"" + $0 + "\"", isFunction: false)
            }
        }
        let type = reference.fieldType(filterClass, field) ?? ""
        if type.hasPrefix("boolean") { return inString ? [] : [Candidate(name: "true", isFunction: false), Candidate(name: "false", isFunction: false)] }
        return values(spot.collection + "." + field).map { Candidate(name: inString ? $0 : "\"" + $0 + "\"", isFunction: false) }
    }

    static let relatedFields = [
        "merchant": ["country", "dropshipper", "id", "industry", "name"], "assignee": ["active", "id", "name", "role", "service"],
    ]

    /// Ids for a string argument: `jobs.get("`, `members.get("`, `job:assign("`.
    func argumentValues(_ call: LuaCall, _ list: [LuaTokens.Token]) -> [Candidate] {
        guard list.count >= 2, list[list.count - 1] == .open("(") else { return [] }
        let tokens = LuaTokens(list: list)
        let end = list.count - 1
        var key: String?
        if end >= 2, case .name(let method) = list[end - 1], list[end - 2] == .symbol(":") {
            // A method: the type of its receiver.
            if let chain = tokens.receiver(endingBefore: end - 2) {
                switch evaluate(call, chain) {
                case .object(let type): key = type + ":" + method
                case .value(let n, _): key = call.objectInfo(n).map { $0.type + ":" + method }
                default: break
                }
            }
        } else if let chain = tokens.receiver(endingBefore: end) {
            key = chain.map(\.text).joined()
        }
        guard let key else { return [] }
        return values(key).map { Candidate(name: $0, isFunction: false) }
    }

    // MARK: Globals

    func globals(_ call: LuaCall) -> [Candidate] {
        let names = (try? lua.globalNames()) ?? []
        jr_pushglobaltable(call.state)
        let globals = call.absolute(-1)
        var found = names.filter { Identifier.isName(Array($0.utf8)) }.map { name in
            let top = lua_gettop(call.state)
            defer { lua_settop(call.state, top) }
            let isFunction = lookup(call, globals, name) && call.type(-1) == .function
            return Candidate(name: name, isFunction: isFunction)
        }
        found += Identifier.keywords.map { Candidate(name: $0, isFunction: false) }
        return found
    }

    // MARK: Members

    /// What an expression is known to be without running it.
    enum Known {
        /// A real value, at this stack index; `path` names it when it was reached by names from a global.
        case value(Int32, path: String?)
        /// An object of this host type (`Job`).
        case object(String)
        /// An array of such objects.
        case list(String)
        /// A string (a field documented as one, a literal).
        case string
        case unknown
    }

    func members(_ call: LuaCall, _ chain: [LuaTokens.Token], separator: String) -> [Candidate] {
        switch evaluate(call, chain) {
        case .value(let n, _):
            if let info = call.objectInfo(n) { return objectMembers(info, separator: separator) }
            if call.type(n) == .string { return separator == ":" ? stringMethods(call) : [] }
            guard call.type(n) == .table else { return [] }
            return tableKeys(call, n, functionsOnly: separator == ":")
        case .object(let type):
            guard let info = lua.objectInfo(typeName: type) else { return [] }
            return objectMembers(info, separator: separator)
        case .string:
            return separator == ":" ? stringMethods(call) : []
        case .list, .unknown:
            return []
        }
    }

    /// The string library's functions: what `s:` calls on a string.
    func stringMethods(_ call: LuaCall) -> [Candidate] {
        jr_pushglobaltable(call.state)
        guard lookup(call, call.absolute(-1), "string"), call.type(-1) == .table else { return [] }
        return tableKeys(call, call.absolute(-1), functionsOnly: true)
    }

    func objectMembers(_ info: LuaObjectInfo, separator: String) -> [Candidate] {
        if separator == ":" { return info.methods.map { Candidate(name: $0, isFunction: true) } }
        return info.fields.map { field in
            let type = reference.fieldType(info.type, field) ?? ""
            return Candidate(name: field, isFunction: type.hasPrefix("fun("))
        }
    }

    func tableKeys(_ call: LuaCall, _ n: Int32, functionsOnly: Bool) -> [Candidate] {
        let L = call.state
        var found: [Candidate] = []
        var t = n
        guard lua_checkstack(L, 12) != 0 else { return [] }
        // The table, then the tables behind `__index` (read-only namespaces, the host globals).
        for _ in 0..<4 {
            lua_pushnil(L)
            while lua_next(L, t) != 0 {
                let isFunction = call.type(-1) == .function
                if let name = call.stringValue(-2), Identifier.isName(Array(name.utf8)), !functionsOnly || isFunction {
                    found.append(Candidate(name: name, isFunction: isFunction))
                }
                call.pop()
            }
            guard lua_getmetatable(L, t) != 0 else { break }
            guard call.rawField(-1, "__index") == .table else { break }
            t = call.absolute(-1)
        }
        return found
    }

    /// Follows the chain from its first name, statically.
    func evaluate(_ call: LuaCall, _ chain: [LuaTokens.Token]) -> Known {
        // `("text")`: a string.
        if chain.count == 3, chain[0] == .open("("), case .string = chain[1], chain[2] == .close(")") { return .string }
        guard case .name(let first) = chain.first, !Identifier.keywords.contains(first) else { return .unknown }
        jr_pushglobaltable(call.state)
        var known: Known = lookup(call, call.absolute(-1), first) ? .value(call.absolute(-1), path: first) : .unknown
        var i = 1
        while i < chain.count {
            // Each step leaves a value or two on the stack (restored by `inspect`).
            guard lua_checkstack(call.state, 8) != 0 else { return .unknown }
            switch chain[i] {
            case .symbol("."):
                guard i + 1 < chain.count, case .name(let name) = chain[i + 1] else { return .unknown }
                known = field(call, known, name)
                i += 2
            case .symbol(":"):
                // A method call: `:name(…)`.
                guard i + 2 < chain.count, case .name(let name) = chain[i + 1], chain[i + 2].opensCall else { return .unknown }
                known = method(call, known, name)
                i = skipArguments(chain, from: i + 2)
            case .open("["):
                let end = LuaTokens.matching(chain, from: i)
                known = index(call, known, Array(chain[(i + 1)..<end]))
                i = end + 1
            case let token where token.opensCall:
                known = result(call, known)
                i = skipArguments(chain, from: i)
            default:
                return .unknown
            }
            if case .unknown = known { return .unknown }
        }
        return known
    }

    func skipArguments(_ chain: [LuaTokens.Token], from i: Int) -> Int {
        if case .open = chain[i] { return LuaTokens.matching(chain, from: i) + 1 }
        return i + 1  // a string argument
    }

    func field(_ call: LuaCall, _ known: Known, _ name: String) -> Known {
        switch known {
        case .value(let n, let path):
            if let info = call.objectInfo(n) { return type(reference.fieldType(info.type, name)) }
            guard call.type(n) == .table, lookup(call, n, name) else { return .unknown }
            return .value(call.absolute(-1), path: path.map { $0 + "." + name })
        case .object(let type):
            return self.type(reference.fieldType(type, name))
        case .list, .string, .unknown:
            return .unknown
        }
    }

    func method(_ call: LuaCall, _ known: Known, _ name: String) -> Known {
        switch known {
        case .value(let n, _):
            guard let info = call.objectInfo(n) else { return .unknown }
            return type(reference.returnType(info.type + ":" + name))
        case .object(let typeName):
            return type(reference.returnType(typeName + ":" + name))
        case .list, .string, .unknown:
            return .unknown
        }
    }

    /// The result of calling a known value: a host function's documented result type.
    func result(_ call: LuaCall, _ known: Known) -> Known {
        guard case .value(let n, let path) = known, let path, call.type(n) == .function,
            lua_iscfunction(call.state, n) != 0
        else { return .unknown }
        return type(reference.returnType(path))
    }

    func index(_ call: LuaCall, _ known: Known, _ key: [LuaTokens.Token]) -> Known {
        switch known {
        case .list(let type):
            return .object(type)
        case .value(let n, _):
            guard call.type(n) == .table, key.count == 1 else { return .unknown }
            switch key[0] {
            case .string(let text):
                return lookup(call, n, text) ? .value(call.absolute(-1), path: nil) : .unknown
            case .number(let text):
                guard let i = Int(text) else { return .unknown }
                return lua_rawgeti(call.state, n, lua_Integer(i)) != LUA_TNIL ? .value(call.absolute(-1), path: nil) : .unknown
            default:
                return .unknown
            }
        case .object, .string, .unknown:
            return .unknown
        }
    }

    /// A documented type (`Job?`, `Member[]`) as what completion knows.
    func type(_ documented: String?) -> Known {
        guard var name = documented else { return .unknown }
        if name.hasSuffix("?") { name.removeLast() }
        if name == "string" { return .string }
        if name.hasSuffix("[]") {
            name.removeLast(2)
            return lua.objectInfo(typeName: name) != nil ? .list(name) : .unknown
        }
        return lua.objectInfo(typeName: name) != nil ? .object(name) : .unknown
    }

    /// Pushes `table[key]` (raw, then through `__index` tables); false (and nothing pushed) when nil.
    func lookup(_ call: LuaCall, _ table: Int32, _ key: String) -> Bool {
        let L = call.state
        let base = lua_gettop(L)
        guard lua_checkstack(L, 10) != 0 else { return false }
        var t = call.absolute(table)
        for _ in 0..<4 {
            if call.rawField(t, key) != .nil {
                // Only the value stays, just above where the stack was.
                lua_copy(L, -1, base + 1)
                lua_settop(L, base + 1)
                return true
            }
            guard lua_getmetatable(L, t) != 0, call.rawField(-1, "__index") == .table else { break }
            t = call.absolute(-1)
        }
        lua_settop(L, base)
        return false
    }
}

/// Lua tokens, enough to find the expression before a `.` or `:`.
struct LuaTokens {
    enum Token: Equatable {
        case name(String)
        case string(String)
        case number(String)
        case open(Character)
        case close(Character)
        case symbol(String)

        /// The token as written (a string without its quotes' escapes).
        var text: String {
            switch self {
            case .name(let s), .number(let s), .symbol(let s): s
            case .string(let s): "\"" + s + "\""
            case .open(let c), .close(let c): String(c)
            }
        }

        /// Starts a call's arguments: `(`, `{`, or a string.
        var opensCall: Bool {
            switch self {
            case .open("("), .open("{"), .string: true
            default: false
            }
        }
    }

    var list: [Token] = []

    init(list: [Token]) { self.list = list }

    /// Nil when the text ends inside a string or a comment (nothing to complete there).
    init?(_ text: String) {
        let b = Array(text.utf8)
        var i = 0
        func at(_ k: Int) -> UInt8 { k < b.count ? b[k] : 0 }
        /// The end of a long bracket `[==[` at `k`, or nil when it is not one.
        func longBracket(_ k: Int) -> (level: Int, end: Int)? {
            guard at(k) == UInt8(ascii: "[") else { return nil }
            var j = k + 1
            while at(j) == UInt8(ascii: "=") { j += 1 }
            return at(j) == UInt8(ascii: "[") ? (j - k - 1, j + 1) : nil
        }
        /// Skips to after the closing `]==]` of `level`; nil when unterminated.
        func closeLong(_ k: Int, level: Int) -> Int? {
            var j = k
            while j < b.count {
                if b[j] == UInt8(ascii: "]") {
                    var e = j + 1
                    while at(e) == UInt8(ascii: "=") { e += 1 }
                    if at(e) == UInt8(ascii: "]") && e - j - 1 == level { return e + 1 }
                }
                j += 1
            }
            return nil
        }
        while i < b.count {
            let c = b[i]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                i += 1
            } else if c == UInt8(ascii: "-") && at(i + 1) == UInt8(ascii: "-") {
                if let long = longBracket(i + 2) {
                    guard let end = closeLong(long.end, level: long.level) else { return nil }
                    i = end
                } else {
                    guard let newline = b[i...].firstIndex(of: 0x0A) else { return nil }
                    i = newline + 1
                }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                var j = i + 1
                var content: [UInt8] = []
                while j < b.count && b[j] != c {
                    if b[j] == UInt8(ascii: "\\") { j += 1 }
                    if j < b.count { content.append(b[j]) }
                    j += 1
                }
                guard j < b.count else { return nil }
                list.append(.string(String(decoding: content, as: UTF8.self)))
                i = j + 1
            } else if let long = longBracket(i) {
                guard let end = closeLong(long.end, level: long.level) else { return nil }
                list.append(.string(String(decoding: b[long.end..<max(long.end, end - long.level - 2)], as: UTF8.self)))
                i = end
            } else if Identifier.isNameByte(c) && !(0x30...0x39).contains(c) {
                var j = i
                while j < b.count && Identifier.isNameByte(b[j]) { j += 1 }
                list.append(.name(String(decoding: b[i..<j], as: UTF8.self)))
                i = j
            } else if (0x30...0x39).contains(c) || (c == UInt8(ascii: ".") && (0x30...0x39).contains(at(i + 1))) {
                var j = i
                while j < b.count && (Identifier.isNameByte(b[j]) || b[j] == UInt8(ascii: ".")) { j += 1 }
                list.append(.number(String(decoding: b[i..<j], as: UTF8.self)))
                i = j
            } else if c == UInt8(ascii: "(") || c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                list.append(.open(Character(Unicode.Scalar(c))))
                i += 1
            } else if c == UInt8(ascii: ")") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}") {
                list.append(.close(Character(Unicode.Scalar(c))))
                i += 1
            } else if c == UInt8(ascii: ".") && at(i + 1) == UInt8(ascii: ".") {
                list.append(.symbol(at(i + 2) == UInt8(ascii: ".") ? "..." : ".."))
                i += at(i + 2) == UInt8(ascii: ".") ? 3 : 2
            } else if c == UInt8(ascii: ":") && at(i + 1) == UInt8(ascii: ":") {
                list.append(.symbol("::"))
                i += 2
            } else {
                list.append(.symbol(String(Unicode.Scalar(c))))
                i += 1
            }
        }
    }

    /// The suffixed expression (`jobs.get("J-5")`, `j.merchant`) that ends just before token `end`.
    func receiver(endingBefore end: Int) -> [Token]? {
        var i = end - 1
        var start = end
        while i >= 0 {
            switch list[i] {
            case .name:
                start = i
                i -= 1
                guard i >= 0, list[i] == .symbol(".") || list[i] == .symbol(":") else { return Array(list[start..<end]) }
                i -= 1
            case .close:
                guard let open = Self.opening(list, closingAt: i) else { return nil }
                start = open
                i = open - 1
            case .string:
                start = i
                i -= 1
            default:
                return start < end ? Array(list[start..<end]) : nil
            }
        }
        return start < end ? Array(list[start..<end]) : nil
    }

    /// The index of the bracket that opens the group closed at `i`.
    static func opening(_ list: [Token], closingAt i: Int) -> Int? {
        var depth = 0
        var k = i
        while k >= 0 {
            if case .close = list[k] { depth += 1 }
            if case .open = list[k] {
                depth -= 1
                if depth == 0 { return k }
            }
            k -= 1
        }
        return nil
    }

    /// The index of the bracket that closes the group opened at `i` (or the last token).
    static func matching(_ list: [Token], from i: Int) -> Int {
        var depth = 0
        for k in i..<list.count {
            if case .open = list[k] { depth += 1 }
            if case .close = list[k] {
                depth -= 1
                if depth == 0 { return k }
            }
        }
        return list.count - 1
    }
}

/// Where the cursor is in a filter table: `jobs.where{st` (a key),
/// `jobs.where{status = "` or `{status = {"new", "` (a value of `field`),
/// `rule{on = "orders", where = {` (an order filter).
struct FilterSpot {
    /// `jobs` or `orders`.
    let collection: String
    /// The field whose value is typed; nil where a key is typed.
    let field: String?
    /// In a table that is the field's value (a list of values, or a related object's fields).
    var nested = false

    static let filterFunctions = [
        "jobs.where": "jobs", "jobs.each": "jobs", "jobs.count": "jobs",
        "orders.where": "orders", "orders.each": "orders", "orders.count": "orders",
    ]

    init?(_ list: [LuaTokens.Token]) {
        // The brackets still open, innermost last.
        var open: [Int] = []
        for (i, token) in list.enumerated() {
            if case .open = token { open.append(i) }
            if case .close = token, !open.isEmpty { open.removeLast() }
        }
        guard let innermost = open.last, list[innermost] == .open("{") else { return nil }
        let last = list[list.count - 1]
        let atKey = last == .open("{") || last == .symbol(",")
        let enclosing = open.count >= 2 ? open[open.count - 2] : nil
        if let collection = Self.filterTable(list, at: innermost, enclosing: enclosing) {
            // In the filter itself: a key, or a field's single value.
            if atKey {
                self.init(collection: collection, field: nil)
                return
            }
            guard list.count >= 2, last == .symbol("="), case .name(let field) = list[list.count - 2] else { return nil }
            self.init(collection: collection, field: field)
            return
        }
        // In a list of values: `field = {` inside a filter.
        guard atKey, innermost >= 2, list[innermost - 1] == .symbol("="), case .name(let field) = list[innermost - 2],
            let enclosing, list[enclosing] == .open("{"),
            let collection = Self.filterTable(list, at: enclosing, enclosing: open.count >= 3 ? open[open.count - 3] : nil)
        else { return nil }
        self.init(collection: collection, field: field)
        nested = true
    }

    private init(collection: String, field: String?) {
        self.collection = collection
        self.field = field
    }

    /// The collection whose filter the table opened at `i` is, if it is one:
    /// the argument of `jobs.where` and the like, or a rule's `where`.
    static func filterTable(_ list: [LuaTokens.Token], at i: Int, enclosing: Int?) -> String? {
        let tokens = LuaTokens(list: list)
        if let chain = tokens.receiver(endingBefore: i), let collection = filterFunctions[chain.map(\.text).joined()] {
            return collection
        }
        if list[max(0, i - 1)] == .open("(") && i >= 1, let chain = tokens.receiver(endingBefore: i - 1),
            let collection = filterFunctions[chain.map(\.text).joined()]
        {
            return collection
        }
        // rule{…, where = {…}}: its `on` says which.
        guard i >= 2, list[i - 1] == .symbol("="), list[i - 2] == .name("where"), let enclosing, enclosing >= 1,
            list[enclosing] == .open("{"), list[enclosing - 1] == .name("rule")
        else { return nil }
        for k in enclosing..<i where k + 2 < list.count && list[k] == .name("on") && list[k + 1] == .symbol("=") {
            if case .string(let on) = list[k + 2] { return on == "orders" ? "orders" : "jobs" }
        }
        return "jobs"
    }
}
