#if canImport(Glibc)
import Glibc
#endif

/// One thing wrong with a store, at a JSON path (`jobs[17].status: unknown status "opne"`).
public struct StoreProblem: Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let message: String

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Why a store could not be read.
public enum StoreDecodingError: Error, Sendable, Equatable {
    /// Not JSON: where and why (1-based line and byte column).
    case syntax(line: Int, column: Int, message: String)
    /// JSON, but not a valid store: every problem found, up to a cap.
    case invalid([StoreProblem], more: Bool)
}

/// The names of an object's known members, looked up by bytes.
struct Keys {
    let names: [StaticString]
    let required: UInt64
    /// Each name as it comes before its value, `"name":`, in three words (zero
    /// past its end) and its length: the predicted key is checked with one to
    /// three word compares instead of a `memcmp` call and a separate colon.
    let patterns: [(words: (UInt64, UInt64, UInt64), count: Int)]

    init(_ names: [StaticString], required: [StaticString] = []) {
        self.names = names
        patterns = names.map { name in
            var bytes = [UInt8(ascii: "\"")]
            name.withUTF8Buffer { bytes.append(contentsOf: $0) }
            bytes += [UInt8(ascii: "\""), UInt8(ascii: ":")]
            var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &words) { w in
                for (i, b) in bytes.prefix(24).enumerated() { w[i] = b }
            }
            return (words, bytes.count)
        }
        var mask: UInt64 = 0
        for r in required {
            if let i = names.firstIndex(where: { $0.description == r.description }) { mask |= 1 << UInt64(i) }
        }
        self.required = mask
    }

    /// The index of the key at `p`, trying `hint` first (files jobrules wrote list keys in order), or -1.
    @inline(__always)
    func find(_ p: UnsafeRawPointer, _ count: Int, hint: Int) -> Int {
        if hint < names.count, names[hint].utf8CodeUnitCount == count, memcmp(names[hint].utf8Start, p, count) == 0 {
            return hint
        }
        for (i, name) in names.enumerated() where name.utf8CodeUnitCount == count && memcmp(name.utf8Start, p, count) == 0 {
            return i
        }
        return -1
    }
}

/// Reads and validates a whole store, building the domain directly from the bytes.
///
/// Syntax errors stop at once (nothing after them can be trusted); every other
/// problem is recorded with its path and reading goes on, so one run of
/// `jobrules` lists them all (up to `maxProblems`).
struct StoreDecoder {
    static let maxProblems = 100

    /// Trivial to copy: the path changes at every key, and a component holding
    /// a String made each change a release and a uniqueness check more.
    enum PathComponent {
        case none
        case index(Int)
        case key(StaticString)
        /// A key as the source spells it, between its quotes.
        case span(start: Int, count: Int, escaped: Bool)
    }

    struct ObjectState {
        var first = true
        var hint = 0
        var seen: UInt64 = 0
        var start = 0
        /// Offset of the current member's key.
        var keyStart = 0
        /// The enclosing object's unknown members, set aside while this one is read.
        var outerExtras = Extras()
    }

    var r: JSONReader
    let source: SourceBytes
    var problems: [StoreProblem] = []
    var moreProblems = false
    var path: [PathComponent] = []
    /// Unknown members of the object being read.
    var extras = Extras()

    init(source: SourceBytes, count: Int) {
        self.source = source
        r = JSONReader(UnsafeRawBufferPointer(rebasing: source.buffer[0..<count]))
        path.reserveCapacity(16)
    }

    // MARK: Problems

    var pathString: String {
        var s = ""
        for c in path {
            switch c {
            case .none: break
            case .index(let i): s += "[\(i)]"
            case .key(let k): s += s.isEmpty ? k.description : ".\(k)"
            case .span(let start, let count, let escaped):
                let k = JSONText.decode(UnsafeRawBufferPointer(rebasing: source.buffer[start..<(start + count)]), escaped: escaped)
                s += s.isEmpty ? k : ".\(k)"
            }
        }
        return s
    }

    /// A problem found by another reader (its path already rendered).
    mutating func problem(_ p: StoreProblem) {
        guard problems.count < Self.maxProblems else {
            moreProblems = true
            return
        }
        problems.append(p)
    }

    /// A required member `name` of the object being read is not there: `jobs[3].status: missing`.
    mutating func missingMember(_ name: String, _ why: String = "") {
        if !path.isEmpty { path[path.count - 1] = .none }
        let parent = pathString
        problem(StoreProblem(path: parent.isEmpty ? name : parent + "." + name, message: "missing" + why))
    }

    mutating func problem(_ message: String) {
        guard problems.count < Self.maxProblems else {
            moreProblems = true
            return
        }
        problems.append(StoreProblem(path: pathString, message: message))
    }

    func syntaxError(_ e: JSONSyntaxError) -> StoreDecodingError {
        let (line, column) = r.location(of: e.offset)
        return .syntax(line: line, column: column, message: e.message)
    }

    // MARK: Objects and arrays

    /// Starts an object, or records a problem and skips the value (nil) when it is something else.
    mutating func beginObject() throws(JSONSyntaxError) -> ObjectState? {
        let kind = try r.kind()
        guard kind == .object else {
            problem("expected an object, found \(kind.rawValue)")
            try r.skipValue(depth: path.count)
            return nil
        }
        guard path.count < JSONReader.maxDepth else { throw r.fail("nested deeper than \(JSONReader.maxDepth) levels") }
        var state = ObjectState()
        state.start = r.pos
        state.outerExtras = extras
        extras = Extras()
        r.pos += 1
        path.append(.none)
        return state
    }

    /// Whether the key the hint predicts comes next (objects usually list their
    /// keys in the order the store writes them), as `"name":` exactly; if so it
    /// is consumed with its colon, by word compares instead of a scan of the
    /// string. False otherwise, the input untouched.
    @inline(__always)
    mutating func predictedKey(_ keys: Keys, hint: Int) -> Bool {
        guard hint < keys.patterns.count, r.pos + 24 <= r.bytes.count else { return false }
        let (words, n) = keys.patterns[hint]
        guard n <= 24 else { return false }
        let p = UnsafeRawPointer(r.bytes.baseAddress.unsafelyUnwrapped + r.pos)
        @inline(__always) func matches(_ word: Int, _ expected: UInt64) -> Bool {
            let left = n - 8 * word
            let value = p.loadUnaligned(fromByteOffset: 8 * word, as: UInt64.self)
            let mask: UInt64 = left >= 8 ? ~0 : (1 << UInt64(8 * left)) &- 1
            return value & mask == expected
        }
        guard matches(0, words.0), n <= 8 || matches(1, words.1), n <= 16 || matches(2, words.2) else { return false }
        r.pos += n
        return true
    }

    /// The next member's index in `keys` (-1: unknown, kept by `keepExtra`), or nil after the last.
    mutating func nextMember(_ keys: Keys, _ o: inout ObjectState) throws(JSONSyntaxError) -> Int? {
        while true {
            if o.first {
                o.first = false
                if r.consume(UInt8(ascii: "}")) { return nil }
            } else if !r.consume(UInt8(ascii: ",")) {
                try r.expect(UInt8(ascii: "}"), "',' or '}' after an object member")
                return nil
            }
            r.skipWhitespace()
            o.keyStart = r.pos
            let index: Int
            if predictedKey(keys, hint: o.hint) {
                r.skipWhitespace()
                index = o.hint
                path[path.count - 1] = .key(keys.names[index])
            } else {
                let key = try r.string()
                try r.expect(UInt8(ascii: ":"), "':' after an object key")
                r.skipWhitespace()
                if key.escaped {
                    let name = JSONText.decode(
                        UnsafeRawBufferPointer(rebasing: r.bytes[key.start..<(key.start + key.count)]), escaped: true)
                    index = keys.names.firstIndex { $0.description == name } ?? -1
                    path[path.count - 1] = .span(start: key.start, count: key.count, escaped: true)
                } else {
                    index = keys.find(r.bytes.baseAddress.unsafelyUnwrapped + key.start, key.count, hint: o.hint)
                    path[path.count - 1] =
                        index >= 0 ? .key(keys.names[index]) : .span(start: key.start, count: key.count, escaped: false)
                }
                if index < 0 {
                    try keepUnknown(key)
                    continue
                }
            }
            let bit: UInt64 = 1 << UInt64(index)
            if o.seen & bit != 0 {
                problem("duplicate key")
                try r.skipValue(depth: path.count)
                continue
            }
            o.seen |= bit
            o.hint = index + 1
            return index
        }
    }

    /// Keeps an unknown member verbatim (its key at `key`, its value next),
    /// unless it repeats another unknown key.
    private mutating func keepUnknown(_ key: StringToken) throws(JSONSyntaxError) {
        let keySpan = SourceSpan(start: key.start - 1, count: key.count + 2)
        let valueStart = r.pos
        try r.skipValue(depth: path.count)
        let keyBytes = source[keySpan]
        if extras.members.contains(where: { $0.key.bytes.elementsEqual(keyBytes) }) {
            problem("duplicate key")
            return
        }
        extras.members.append(Extras.Member(
            key: RawJSON(source: source, span: keySpan),
            value: RawJSON(source: source, span: SourceSpan(start: valueStart, count: r.pos - valueStart))))
    }

    /// Ends an object: reports missing required keys; returns its unknown members and its bytes.
    mutating func endObject(_ keys: Keys, _ o: ObjectState) -> (Extras, SourceSpan) {
        path[path.count - 1] = .none
        let missing = keys.required & ~o.seen
        if missing != 0 {
            for (i, name) in keys.names.enumerated() where missing & (1 << UInt64(i)) != 0 { missingMember(name.description) }
        }
        path.removeLast()
        let mine = extras
        extras = o.outerExtras
        return (mine, SourceSpan(start: o.start, count: r.pos - o.start))
    }

    /// Runs `element` for each element of an array (path `[i]`); a non-array is a problem.
    mutating func array(_ element: (inout StoreDecoder, Int) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        let kind = try r.kind()
        guard kind == .array else {
            problem("expected an array, found \(kind.rawValue)")
            try r.skipValue(depth: path.count)
            return
        }
        guard path.count < JSONReader.maxDepth else { throw r.fail("nested deeper than \(JSONReader.maxDepth) levels") }
        r.pos += 1
        if r.consume(UInt8(ascii: "]")) { return }
        path.append(.index(0))
        var i = 0
        while true {
            path[path.count - 1] = .index(i)
            try element(&self, i)
            i += 1
            if r.consume(UInt8(ascii: ",")) { continue }
            try r.expect(UInt8(ascii: "]"), "',' or ']' after an array element")
            break
        }
        path.removeLast()
    }

    // MARK: Values

    /// Consumes `null` if it comes next.
    mutating func null() throws(JSONSyntaxError) -> Bool {
        r.skipWhitespace()
        guard r.peek() == UInt8(ascii: "n") else { return false }
        try r.literal("null")
        return true
    }

    private mutating func wrongType(_ expected: String) throws(JSONSyntaxError) {
        let kind = try r.kind()
        problem("expected \(expected), found \(kind.rawValue)")
        try r.skipValue(depth: path.count)
    }

    mutating func stringToken() throws(JSONSyntaxError) -> StringToken? {
        r.skipWhitespace()
        guard r.peek() == UInt8(ascii: "\"") else {
            try wrongType("a string")
            return nil
        }
        return try r.string()
    }

    func decode(_ t: StringToken) -> String {
        JSONText.decode(UnsafeRawBufferPointer(rebasing: r.bytes[t.start..<(t.start + t.count)]), escaped: t.escaped)
    }

    /// One line (a name, an email, a service id): at most `limit` bytes
    /// (`Limits`) and no control character.
    mutating func string(limit: Int = Limits.idBytes) throws(JSONSyntaxError) -> String? {
        guard let t = try stringToken(), fits(t, limit: limit) else { return nil }
        return decode(t)
    }

    /// Any text (a reason) of at most `limit` bytes.
    mutating func freeString(limit: Int) throws(JSONSyntaxError) -> String? {
        guard let t = try stringToken() else { return nil }
        let text = decode(t)
        guard text.utf8.count <= limit else {
            problem("longer than \(limit) bytes (\(text.utf8.count))")
            return nil
        }
        return text
    }

    /// A string that must not be empty (ids, names).
    mutating func id() throws(JSONSyntaxError) -> String? {
        try idToken().map(decode)
    }

    /// `id()` where it is found, not yet a String.
    @inline(__always)
    mutating func idToken() throws(JSONSyntaxError) -> StringToken? {
        guard let t = try stringToken() else { return nil }
        guard t.count > 0 else {
            problem("must not be empty")
            return nil
        }
        return fits(t, limit: Limits.idBytes) ? t : nil
    }

    mutating func optionalString() throws(JSONSyntaxError) -> String? {
        try null() ? nil : string()
    }

    /// Free text, kept where it lies in the input (see `Text`): at most `Limits.textBytes`.
    @inline(__always)
    mutating func text() throws(JSONSyntaxError) -> Text? {
        guard let t = try stringToken() else { return nil }
        // The bytes in the input hold at least as many as the text: only a
        // long one is looked at again.
        if t.count > Limits.textBytes, tooLong(t) { return nil }
        return Text(source: source, start: t.start, count: t.count, escaped: t.escaped)
    }

    /// Whether the text `t` is over `Limits.textBytes` (a problem then).
    private mutating func tooLong(_ t: StringToken) -> Bool {
        guard !t.escaped || decode(t).utf8.count > Limits.textBytes else { return false }
        problem("text longer than \(Limits.textBytes >> 20) MiB (\(t.count) bytes)")
        return true
    }

    /// Whether the string `t` is at most `limit` bytes and holds no control
    /// character (`Limits.isControl`); a problem otherwise. Raw control
    /// characters below U+0020 can't be in a valid JSON string: unescaped, a
    /// plain ASCII string (the usual id or name) is passed in one look at
    /// each byte.
    @inline(__always)
    mutating func fits(_ t: StringToken, limit: Int) -> Bool {
        if !t.escaped, t.count <= limit, let base = r.bytes.baseAddress {
            let p = base + t.start
            var i = 0
            // Eight bytes at a time: all below 0x7F when neither a byte nor the byte plus one has its high bit
            // (a carry only comes from 0xFF, which has it anyway).
            let ones: UInt64 = 0x0101_0101_0101_0101
            let high: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= t.count {
                let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if (w | (w &+ ones)) & high != 0 { break }
                i += 8
            }
            while i < t.count, p.load(fromByteOffset: i, as: UInt8.self) < 0x7F { i += 1 }
            if i == t.count { return true }
        }
        if let problem = Limits.lineProblem(decode(t), limit: limit) {
            self.problem(problem)
            return false
        }
        return true
    }

    mutating func bool() throws(JSONSyntaxError) -> Bool? {
        r.skipWhitespace()
        let c = r.peek()
        guard c == UInt8(ascii: "t") || c == UInt8(ascii: "f") else {
            try wrongType("true or false")
            return nil
        }
        return try r.bool()
    }

    mutating func time() throws(JSONSyntaxError) -> UnixTime? {
        r.skipWhitespace()
        if let time = canonicalTime() { return time }
        guard let t = try stringToken() else { return nil }
        let bytes = UnsafeRawBufferPointer(rebasing: r.bytes[t.start..<(t.start + t.count)])
        guard !t.escaped, let time = RFC3339.parse(bytes) else {
            if !t.escaped, RFC3339.parseUnbounded(bytes) != nil {
                problem("time out of range: \(ChangeValue.string(decode(t))) (\(RFC3339.rangeDescription))")
            } else {
                problem("not an RFC 3339 time: \(ChangeValue.string(decode(t))) (expected like \"2026-11-21T09:30:00Z\")")
            }
            return nil
        }
        return time
    }

    /// The form jobrules writes, `"2026-11-21T09:30:00Z"`, read at fixed
    /// offsets (the general path took 800 instructions a time, a sixth of a
    /// message's reading); nil for anything else, which the general path reads
    /// or refuses. Checks the same as `RFC3339.parse`.
    @inline(__always)
    mutating func canonicalTime() -> UnixTime? {
        guard r.pos + 22 <= r.bytes.count else { return nil }
        let b = UnsafeRawPointer(r.bytes.baseAddress.unsafelyUnwrapped + r.pos)
        @inline(__always) func at(_ i: Int) -> UInt8 { b.load(fromByteOffset: i, as: UInt8.self) }
        guard at(0) == UInt8(ascii: "\""), at(21) == UInt8(ascii: "\""), at(20) == UInt8(ascii: "Z"), at(11) == UInt8(ascii: "T"),
            at(5) == UInt8(ascii: "-"), at(8) == UInt8(ascii: "-"), at(14) == UInt8(ascii: ":"), at(17) == UInt8(ascii: ":")
        else { return nil }
        // Each digit's value is below 10 exactly when it is a digit; one test for all 14.
        var worst: UInt8 = 0
        @inline(__always) func digit(_ i: Int) -> Int64 {
            let d = at(i) &- 48
            worst = max(worst, d)
            return Int64(d)
        }
        let year = digit(1) * 1000 + digit(2) * 100 + digit(3) * 10 + digit(4)
        let month = digit(6) * 10 + digit(7)
        let day = digit(9) * 10 + digit(10)
        let hour = digit(12) * 10 + digit(13)
        let minute = digit(15) * 10 + digit(16)
        let second = digit(18) * 10 + digit(19)
        guard worst < 10, let time = RFC3339.time(year: year, month: month, day: day, hour: hour, minute: minute, second: second),
            RFC3339.range.contains(time)
        else { return nil }
        r.pos += 22
        return time
    }

    /// A time or null; `.some(nil)` for null, nil after a problem.
    mutating func optionalTime() throws(JSONSyntaxError) -> UnixTime?? {
        if try null() { return .some(nil) }
        guard let t = try time() else { return nil }
        return .some(t)
    }

    /// A number, in `range`.
    mutating func number(in range: ClosedRange<Double> = -1e15...1e15) throws(JSONSyntaxError) -> Double? {
        r.skipWhitespace()
        let c = r.peek()
        guard c == UInt8(ascii: "-") || c &- 48 < 10 else {
            try wrongType("a number")
            return nil
        }
        let d: Double
        switch try r.number() {
        case .integer(let i): d = Double(i)
        case .float(let f): d = f
        case .outOfRange:
            problem("number out of range")
            return nil
        }
        guard range.contains(d) else {
            problem("number out of range (\(Int64(range.lowerBound)) to \(Int64(range.upperBound)))")
            return nil
        }
        return d
    }

    mutating func integer(in range: ClosedRange<Int64>) throws(JSONSyntaxError) -> Int64? {
        r.skipWhitespace()
        let c = r.peek()
        guard c == UInt8(ascii: "-") || c &- 48 < 10 else {
            try wrongType("an integer")
            return nil
        }
        switch try r.number() {
        case .integer(let i) where range.contains(i): return i
        case .integer, .outOfRange:
            problem("number out of range (\(range.lowerBound) to \(range.upperBound))")
        case .float:
            problem("expected an integer, found a fraction")
        }
        return nil
    }

    mutating func enumeration<E: StoredEnumeration>(_: E.Type, _ what: String) throws(JSONSyntaxError) -> E? {
        guard let t = try stringToken() else { return nil }
        let p = r.bytes.baseAddress.unsafelyUnwrapped + t.start
        for (raw, value) in E.storedValues where raw.count == t.count && memcmp(raw, p, t.count) == 0 && !t.escaped {
            return value
        }
        let known = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        problem("unknown \(what) \(ChangeValue.string(decode(t))) (expected \(known))")
        return nil
    }

    /// Whether a short list holds a string twice (a pairwise look: building a
    /// Set for every job's two assignees cost more than reading them).
    static func hasDuplicate(_ list: [String]) -> Bool {
        if list.count > 16 { return Set(list).count != list.count }
        for i in list.indices.dropFirst() where list[..<i].contains(list[i]) { return true }
        return false
    }

    mutating func strings() throws(JSONSyntaxError) -> [String]? {
        var list: [String] = []
        var ok = true
        let before = problems.count
        try array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in
            if let s = try d.string() { list.append(s) } else { ok = false }
        }
        return ok && problems.count == before ? list : nil
    }
}

/// An enumeration stored as its raw string, read by comparing bytes with a
/// table made once (walking `allCases` and making each raw value a String cost
/// 500 instructions a value).
protocol StoredEnumeration: RawRepresentable, CaseIterable where RawValue == String {
    /// Each case's raw value as UTF-8, with the case.
    static var storedValues: [([UInt8], Self)] { get }
}

extension StoredEnumeration {
    static func makeStoredValues() -> [([UInt8], Self)] { allCases.map { (Array($0.rawValue.utf8), $0) } }
}

extension JobSource: StoredEnumeration { static let storedValues = makeStoredValues() }
extension JobStatus: StoredEnumeration { static let storedValues = makeStoredValues() }
extension DeclinedBy: StoredEnumeration { static let storedValues = makeStoredValues() }
extension Priorities.Level: StoredEnumeration { static let storedValues = makeStoredValues() }
extension OrderStatus: StoredEnumeration { static let storedValues = makeStoredValues() }
extension CanceledBy: StoredEnumeration { static let storedValues = makeStoredValues() }
extension ExtensionRequest.Status: StoredEnumeration { static let storedValues = makeStoredValues() }
