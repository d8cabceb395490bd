#if canImport(Glibc)
import Glibc
#endif

/// A JSON syntax error at a byte offset of the input (turned into line:column for the user).
struct JSONSyntaxError: Error {
    let offset: Int
    let message: String
}

/// A string literal in the input: the bytes between its quotes.
struct StringToken: Sendable {
    let start: Int
    let count: Int
    let escaped: Bool

    /// Whether `other`, of the same input at `base`, has the same bytes.
    func hasSameBytes(as other: StringToken, in base: UnsafeRawPointer) -> Bool {
        count == other.count && escaped == other.escaped && memcmp(base + start, base + other.start, count) == 0
    }
}

/// A number in the input.
enum NumberToken {
    case integer(Int64)
    case float(Double)
    /// Valid JSON, but beyond what a Double holds (`1e400`) or an integer beyond 64 bits.
    case outOfRange
}

/// What a value starts with, to say what was found instead of what was expected.
enum JSONKind: String {
    case object = "an object", array = "an array", string = "a string", number = "a number"
    case bool = "a boolean", null = "null"
}

/// A strict RFC 8259 tokenizer over the bytes of a file.
///
/// Hand-written rather than Foundation's `JSONSerialization`/`JSONDecoder`
/// (measured at 5–70 MB/s here): the store is hundreds of megabytes, and
/// the loader wants spans of the input (texts stay undecoded, unchanged objects
/// are saved by copying their bytes), which no JSON library gives from Swift.
/// Strings are scanned eight bytes at a time; UTF-8 is validated as it goes.
struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    var pos = 0
    /// Deeper than this is refused: no store needs it, and a bomb of nested
    /// arrays must not exhaust anything.
    static let maxDepth = 256

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { pos >= bytes.count }

    @inline(__always) func peek() -> UInt8 { pos < bytes.count ? bytes[pos] : 0 }

    @inline(__always) mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    func fail(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? pos, message: message)
    }

    /// What the next value is, without consuming it (whitespace skipped).
    mutating func kind() throws(JSONSyntaxError) -> JSONKind {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: throw unexpected("a value")
        }
    }

    func unexpected(_ what: String) -> JSONSyntaxError {
        if pos >= bytes.count { return fail("unexpected end of file, expected \(what)") }
        let b = bytes[pos]
        if b >= 0x20 && b < 0x7F { return fail("unexpected '\(Character(Unicode.Scalar(b)))', expected \(what)") }
        return fail("unexpected byte 0x\(String(b, radix: 16, uppercase: true)), expected \(what)")
    }

    @inline(__always) mutating func expect(_ c: UInt8, _ what: String) throws(JSONSyntaxError) {
        skipWhitespace()
        guard pos < bytes.count, bytes[pos] == c else { throw unexpected(what) }
        pos += 1
    }

    /// Consumes `c` if it is next (after whitespace).
    @inline(__always) mutating func consume(_ c: UInt8) -> Bool {
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == c {
            pos += 1
            return true
        }
        return false
    }

    mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= bytes.count, memcmp(bytes.baseAddress.unsafelyUnwrapped + pos, word.utf8Start, n) == 0 else {
            throw fail("invalid literal, expected \(word)")
        }
        pos += n
    }

    mutating func bool() throws(JSONSyntaxError) -> Bool {
        if peek() == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        try literal("false")
        return false
    }

    // MARK: Strings

    /// Scans a string literal (at its opening quote): escapes and UTF-8 checked.
    mutating func string() throws(JSONSyntaxError) -> StringToken {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw unexpected("a string") }
        pos += 1
        let start = pos
        var escaped = false
        let base = bytes.baseAddress.unsafelyUnwrapped
        let end = bytes.count
        while true {
            // Eight bytes at a time while none is a quote, a backslash, a control byte or non-ASCII.
            while pos + 8 <= end {
                let w = UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let high: UInt64 = 0x8080_8080_8080_8080
                let quote = w ^ (ones &* 0x22)
                let slash = w ^ (ones &* 0x5C)
                let special = ((quote &- ones) & ~quote) | ((slash &- ones) & ~slash) | ((w &- ones &* 0x20) & ~w) | w
                if special & high != 0 { break }
                pos += 8
            }
            guard pos < end else { throw fail("unterminated string", at: start - 1) }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                return StringToken(start: start, count: pos - 1 - start, escaped: escaped)
            } else if b == UInt8(ascii: "\\") {
                escaped = true
                try escape()
            } else if b < 0x20 {
                throw fail("control character 0x\(String(b, radix: 16)) in a string (escape it)")
            } else if b < 0x80 {
                pos += 1
            } else {
                try utf8Sequence()
            }
        }
    }

    private mutating func escape() throws(JSONSyntaxError) {
        guard pos + 1 < bytes.count else { throw fail("unterminated string") }
        switch bytes[pos + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            pos += 2
        case UInt8(ascii: "u"):
            let start = pos
            let high = try hex4(at: pos + 2)
            pos += 6
            if (0xD800..<0xDC00).contains(high) {
                guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u"),
                    (0xDC00..<0xE000).contains(try hex4(at: pos + 2))
                else { throw fail("unpaired surrogate \\u\(String(high, radix: 16, uppercase: true)) in a string", at: start) }
                pos += 6
            } else if (0xDC00..<0xE000).contains(high) {
                throw fail("unpaired surrogate \\u\(String(high, radix: 16, uppercase: true)) in a string", at: start)
            }
        default:
            throw fail("invalid escape '\\\(Character(Unicode.Scalar(bytes[pos + 1])))' in a string")
        }
    }

    private func hex4(at i: Int) throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("unterminated \\u escape") }
        var value: UInt32 = 0
        for k in i..<(i + 4) {
            let h = JSONText.hexValue(bytes[k])
            guard h != 0xFF else { throw fail("invalid \\u escape (four hex digits expected)", at: i - 2) }
            value = value << 4 | UInt32(h)
        }
        return value
    }

    /// One UTF-8 sequence starting with a byte ≥ 0x80 (RFC 3629: no overlongs, surrogates or > U+10FFFF).
    private mutating func utf8Sequence() throws(JSONSyntaxError) {
        let b0 = bytes[pos]
        let n = bytes.count
        func cont(_ i: Int) -> Bool { i < n && bytes[i] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            if cont(pos + 1) { pos += 2; return }
        case 0xE0...0xEF:
            if pos + 2 < n, cont(pos + 1), cont(pos + 2) {
                let b1 = bytes[pos + 1]
                if (b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 >= 0xA0) { break }
                pos += 3
                return
            }
        case 0xF0...0xF4:
            if pos + 3 < n, cont(pos + 1), cont(pos + 2), cont(pos + 3) {
                let b1 = bytes[pos + 1]
                if (b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 >= 0x90) { break }
                pos += 4
                return
            }
        default: break
        }
        throw fail("invalid UTF-8 in a string")
    }

    // MARK: Numbers

    mutating func number() throws(JSONSyntaxError) -> NumberToken {
        skipWhitespace()
        let start = pos
        let n = bytes.count
        var negative = false
        if peek() == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        guard pos < n, bytes[pos] &- 48 < 10 else { throw fail("invalid number", at: start) }
        var magnitude: UInt64 = 0
        var overflow = false
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < n, bytes[pos] &- 48 < 10 { throw fail("invalid number (leading zero)", at: start) }
        } else {
            while pos < n, bytes[pos] &- 48 < 10 {
                let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(UInt64(bytes[pos] - 48))
                overflow = overflow || o1 || o2
                magnitude = m2
                pos += 1
            }
        }
        var integral = true
        if pos < n, bytes[pos] == UInt8(ascii: ".") {
            integral = false
            pos += 1
            guard pos < n, bytes[pos] &- 48 < 10 else { throw fail("invalid number (digit expected after '.')", at: start) }
            while pos < n, bytes[pos] &- 48 < 10 { pos += 1 }
        }
        if pos < n, bytes[pos] | 0x20 == UInt8(ascii: "e") {
            integral = false
            pos += 1
            if pos < n, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < n, bytes[pos] &- 48 < 10 else { throw fail("invalid number (digit expected in exponent)", at: start) }
            while pos < n, bytes[pos] &- 48 < 10 { pos += 1 }
        }
        if integral, !overflow {
            if !negative, magnitude <= UInt64(Int64.max) { return .integer(Int64(magnitude)) }
            if negative, magnitude <= UInt64(Int64.max) + 1 { return .integer(Int64(truncatingIfNeeded: 0 &- magnitude)) }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { return .outOfRange }
        if integral { return .outOfRange }  // an integer beyond 64 bits is not a count or an amount
        return .float(d)
    }

    // MARK: Skipping

    /// Skips one value of any kind, checking its syntax, without recursion.
    mutating func skipValue(depth: Int) throws(JSONSyntaxError) {
        // Open containers: true for an object (keys expected), false for an array.
        var stack: [Bool] = []
        var d = depth
        while true {
            // A value.
            let kind = try kind()
            switch kind {
            case .object, .array:
                pos += 1
                d += 1
                guard d <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
                if consume(kind == .object ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    d -= 1
                    break
                }
                stack.append(kind == .object)
                if kind == .object {
                    _ = try string()
                    try expect(UInt8(ascii: ":"), "':' after an object key")
                }
                continue
            case .string: _ = try string()
            case .number: _ = try number()
            case .bool: _ = try bool()
            case .null: try literal("null")
            }
            // After a value: close containers or move to the next element.
            while let inObject = stack.last {
                skipWhitespace()
                if consume(UInt8(ascii: ",")) {
                    if inObject {
                        _ = try string()
                        try expect(UInt8(ascii: ":"), "':' after an object key")
                    }
                    break
                }
                try expect(inObject ? UInt8(ascii: "}") : UInt8(ascii: "]"), inObject ? "',' or '}'" : "',' or ']'")
                stack.removeLast()
                d -= 1
            }
            if stack.isEmpty { return }
        }
    }

    /// Line and column (1-based, columns in bytes) of a byte offset.
    func location(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, bytes.count) where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return (line, offset - lineStart + 1)
    }
}
