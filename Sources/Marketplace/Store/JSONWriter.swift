/// Appends JSON to a byte buffer; the store writer drains it to the file as it grows.
///
/// Output matches Python's `json.dumps(..., separators=(",", ":"), ensure_ascii=False)`
/// for the values jobrules writes, so stores from `scripts/gen-store` round-trip byte for byte.
struct JSONWriter {
    var bytes: [UInt8] = []
    /// Where `raw(_: SourceSpan)` copies from: the loaded file.
    let source: SourceBytes?

    init(capacity: Int = 256, source: SourceBytes? = nil) {
        bytes.reserveCapacity(capacity)
        self.source = source
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    @inline(__always) mutating func byte(_ b: UInt8) { bytes.append(b) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
    mutating func raw(_ r: RawJSON) { bytes.append(contentsOf: r.bytes) }
    mutating func raw(_ span: SourceSpan) {
        if let source { bytes.append(contentsOf: source[span]) }
    }

    /// `"key":`
    mutating func key(_ s: StaticString) {
        byte(UInt8(ascii: "\""))
        raw(s)
        raw("\":")
    }

    /// `,"key":`
    mutating func nextKey(_ s: StaticString) {
        raw(",\"")
        raw(s)
        raw("\":")
    }

    mutating func null() { raw("null") }
    mutating func bool(_ b: Bool) { b ? raw("true") : raw("false") }

    mutating func int(_ v: Int64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits and a sign
        withUnsafeMutableBytes(of: &digits) { buf in
            var n = v.magnitude
            var i = 24
            repeat {
                i -= 1
                buf[i] = UInt8(48 + n % 10)
                n /= 10
            } while n > 0
            if v < 0 {
                i -= 1
                buf[i] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i...]))
        }
    }

    /// Integral values as integers (`800`, not `800.0`); others in Swift's shortest round-trip form.
    mutating func number(_ d: Double) {
        if d.isFinite, d == d.rounded(), abs(d) < 9_007_199_254_740_992 {
            int(Int64(d))
        } else if d.isFinite {
            var s = d.description
            s.withUTF8 { bytes.append(contentsOf: $0) }
        } else {
            null()
        }
    }

    mutating func time(_ t: UnixTime) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "\""), count: 22))
        bytes.withUnsafeMutableBufferPointer { RFC3339.write(t, into: $0.baseAddress.unsafelyUnwrapped + start + 1) }
    }

    mutating func time(_ t: UnixTime?) {
        if let t { time(t) } else { null() }
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(bytes: UnsafeRawBufferPointer($0)) }
    }

    mutating func string(_ s: String?) {
        if let s { string(s) } else { null() }
    }

    mutating func text(_ t: Text) {
        switch t.storage {
        case .literal(let source, let start, let count, _):
            // Already a valid literal: copy it with its quotes.
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: source.buffer[(start - 1)..<(start + Int(count) + 1)]))
        case .string(let s):
            string(s)
        }
    }

    mutating func string(bytes b: UnsafeRawBufferPointer) {
        byte(UInt8(ascii: "\""))
        // Runs of bytes that need no escape are appended whole: an email body's
        // newlines made appending it byte by byte cost ~12k instructions an entry.
        var run = 0
        for i in 0..<b.count {
            let c = b[i]
            guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
            if run < i { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[run..<i])) }
            run = i + 1
            switch c {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            default:
                raw("\\u00")
                let hex: StaticString = "0123456789abcdef"
                byte(hex.utf8Start[Int(c >> 4)])
                byte(hex.utf8Start[Int(c & 15)])
            }
        }
        if run < b.count { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[run..<b.count])) }
        byte(UInt8(ascii: "\""))
    }

    mutating func strings(_ list: [String]) {
        byte(UInt8(ascii: "["))
        for (i, s) in list.enumerated() {
            if i > 0 { byte(UInt8(ascii: ",")) }
            string(s)
        }
        byte(UInt8(ascii: "]"))
    }

    /// `[…]`: each element's bytes as read, or `encode` for those that have none.
    mutating func list<T>(_ items: [T], raw: (T) -> SourceSpan?, _ encode: (inout JSONWriter, T) -> Void) {
        byte(UInt8(ascii: "["))
        for (i, item) in items.enumerated() {
            if i > 0 { byte(UInt8(ascii: ",")) }
            if let span = raw(item) { self.raw(span) } else { encode(&self, item) }
        }
        byte(UInt8(ascii: "]"))
    }

    /// The value's bytes as read, `encode` when it has none, or `null`.
    mutating func object<T>(_ value: T?, raw: (T) -> SourceSpan?, _ encode: (inout JSONWriter, T) -> Void) {
        guard let value else { return null() }
        if let span = raw(value) { self.raw(span) } else { encode(&self, value) }
    }

    mutating func extras(_ e: Extras) {
        for m in e.members {
            byte(UInt8(ascii: ","))
            raw(m.key)
            byte(UInt8(ascii: ":"))
            raw(m.value)
        }
    }

    mutating func value(_ v: ChangeValue) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .number(let d): number(d)
        case .string(let s): string(s)
        case .array(let items):
            byte(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { byte(UInt8(ascii: ",")) }
                value(item)
            }
            byte(UInt8(ascii: "]"))
        case .object(let members):
            byte(UInt8(ascii: "{"))
            for (i, (k, item)) in members.enumerated() {
                if i > 0 { byte(UInt8(ascii: ",")) }
                string(k)
                byte(UInt8(ascii: ":"))
                value(item)
            }
            byte(UInt8(ascii: "}"))
        }
    }
}
