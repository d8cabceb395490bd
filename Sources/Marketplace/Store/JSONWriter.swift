#if canImport(Glibc)
import Glibc
#endif

/// The bytes a `JSONWriter` appends to, grown by hand.
///
/// Why not `[UInt8]`: `append(contentsOf:)` cost about 90 instructions a call
/// whatever it appended (uniqueness and capacity checks, generic over the
/// sequence), and a save appends millions of small pieces: they were 40% of
/// saving 100 000 jobs. Here an append is a capacity check and a copy.
final class JSONBytes {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inline(__always) func append(_ b: UInt8) {
        if count == capacity { grow(1) }
        base[count] = b
        count += 1
    }

    @inline(__always) func append(_ bytes: UnsafeRawBufferPointer) {
        guard let from = bytes.baseAddress else { return }
        if capacity - count < bytes.count { grow(bytes.count) }
        memcpy(base + count, from, bytes.count)
        count += bytes.count
    }

    /// Room for `n` more bytes, counted in: the caller writes them at the pointer.
    @inline(__always) func extend(by n: Int) -> UnsafeMutablePointer<UInt8> {
        if capacity - count < n { grow(n) }
        defer { count += n }
        return base + count
    }

    func removeAll() { count = 0 }

    private func grow(_ needed: Int) {
        let newCapacity = max(capacity * 2, count + needed)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}

/// Appends JSON to a byte buffer; the store writer drains it to the file as it grows.
///
/// Output matches Python's `json.dumps(..., separators=(",", ":"), ensure_ascii=False)`
/// for the values jobrules writes, so stores from `scripts/gen-store` round-trip byte for byte.
/// A writer is used from one place at a time: copies of it share its bytes.
struct JSONWriter {
    let out: JSONBytes
    /// Where `raw(_: SourceSpan)` copies from: the loaded file.
    let source: SourceBytes?
    /// Also escape DEL and the C1 controls (`\u007f`, `\u009b`), which JSON
    /// allows raw: for what is shown (reports, messages), where a terminal
    /// could obey them. The store and its log keep their bytes.
    var escapesAllControls = false

    init(capacity: Int = 256, source: SourceBytes? = nil) {
        out = JSONBytes(capacity: capacity)
        self.source = source
    }

    /// What was written so far.
    var buffer: UnsafeRawBufferPointer { out.buffer }
    var count: Int { out.count }
    var bytes: [UInt8] { Array(out.buffer) }
    var string: String { String(decoding: out.buffer, as: UTF8.self) }

    /// Forgets what was written (after it was drained), keeping the room.
    mutating func removeAll() { out.removeAll() }

    @inline(__always) mutating func byte(_ b: UInt8) { out.append(b) }

    @inline(__always)
    mutating func raw(_ s: StaticString) {
        if s.hasPointerRepresentation {
            out.append(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        } else {
            s.withUTF8Buffer { out.append(UnsafeRawBufferPointer($0)) }
        }
    }

    mutating func raw(_ b: UnsafeRawBufferPointer) { out.append(b) }
    mutating func raw(_ r: RawJSON) { out.append(r.bytes) }
    mutating func raw(_ span: SourceSpan) {
        if let source { out.append(source[span]) }
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
            out.append(UnsafeRawBufferPointer(rebasing: buf[i...]))
        }
    }

    /// Integral values as integers (`800`, not `800.0`); others in Swift's shortest round-trip form.
    mutating func number(_ d: Double) {
        if d.isFinite, d == d.rounded(), abs(d) < 9_007_199_254_740_992 {
            int(Int64(d))
        } else if d.isFinite {
            var s = d.description
            s.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
        } else {
            null()
        }
    }

    mutating func time(_ t: UnixTime) {
        let p = out.extend(by: 22)
        p[0] = UInt8(ascii: "\"")
        RFC3339.write(t, into: p + 1)
        p[21] = UInt8(ascii: "\"")
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
            out.append(UnsafeRawBufferPointer(rebasing: source.buffer[(start - 1)..<(start + Int(count) + 1)]))
        case .string(let s):
            string(s)
        }
    }

    mutating func string(bytes b: UnsafeRawBufferPointer) {
        byte(UInt8(ascii: "\""))
        // Runs of bytes that need no escape are appended whole: an email body's
        // newlines made appending it byte by byte cost ~12k instructions an entry.
        var run = 0
        var i = 0
        let n = b.count
        while i < n {
            // Eight bytes at a time while none needs an escape (the byte-by-byte
            // scan was the largest part of writing changed jobs and emails).
            if i + 8 <= n {
                let v = b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if !Self.mayNeedEscape(v) && !(escapesAllControls && Self.mayBeAtOrAboveDEL(v)) {
                    i += 8
                    continue
                }
            }
            let c = b[i]
            i += 1
            if escapesAllControls, c == 0x7F || (c == 0xC2 && i < n && b[i] >= 0x80 && b[i] < 0xA0) {
                if run < i - 1 { out.append(UnsafeRawBufferPointer(rebasing: b[run..<(i - 1)])) }
                let scalar = c == 0x7F ? c : b[i]
                if c == 0xC2 { i += 1 }
                run = i
                raw("\\u00")
                let hex: StaticString = "0123456789abcdef"
                byte(hex.utf8Start[Int(scalar >> 4)])
                byte(hex.utf8Start[Int(scalar & 15)])
                continue
            }
            guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
            if run < i - 1 { out.append(UnsafeRawBufferPointer(rebasing: b[run..<(i - 1)])) }
            run = i
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
        if run < b.count { out.append(UnsafeRawBufferPointer(rebasing: b[run..<b.count])) }
        byte(UInt8(ascii: "\""))
    }

    /// Whether any of the eight bytes of `v` is below 0x20, `"` or `\` (the
    /// classic "has a zero byte" test on `v` and on `v` xor each character).
    @inline(__always)
    static func mayNeedEscape(_ v: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZero(_ x: UInt64) -> Bool { (x &- ones) & ~x & highs != 0 }
        let below = (v &- ones &* 0x20) & ~v & highs != 0
        return below || hasZero(v ^ (ones &* 0x22)) || hasZero(v ^ (ones &* 0x5C))
    }

    /// Whether any of the eight bytes of `v` is 0x7F or more (a byte plus
    /// one carries into the next only from 0xFF, which has its high bit).
    @inline(__always)
    static func mayBeAtOrAboveDEL(_ v: UInt64) -> Bool {
        (v | (v &+ 0x0101_0101_0101_0101)) & 0x8080_8080_8080_8080 != 0
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
