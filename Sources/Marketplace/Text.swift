import CSystem
#if canImport(Glibc)
import Glibc
#endif

/// How a load holds the store file's bytes.
public enum SourceHolding: Sendable {
    /// Read into memory. What a long session (the REPL) holds stays as loaded,
    /// whatever later happens to the file.
    case copy
    /// Mapped from the page cache: no copy and no fresh pages to fill (a quarter
    /// of a second on 100 000 jobs), for the commands that load, run and exit.
    /// Stores are only ever replaced by a rename, which leaves a mapping with the
    /// bytes it had; a file cut short in place by another program while mapped is
    /// stopped with a clear error by the bus-error guard, instead of a crash.
    case map
}

/// The bytes of a loaded store file, alive as long as a `Text` points into them.
public final class SourceBytes: @unchecked Sendable {
    // Written once while loading, read-only afterwards.
    let buffer: UnsafeMutableRawBufferPointer
    private enum Owner {
        case allocated
        case mapped(length: Int)
        /// A view: the bytes' owner, kept alive by it.
        case view(SourceBytes)
    }
    private let owner: Owner

    init(count: Int) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        owner = .allocated
    }

    /// The first `count` bytes of the file `fd` (a regular file of at least that
    /// size), mapped read-only; a bus error on them exits with `message`.
    init?(mapping fd: Int32, count: Int, busErrorMessage message: String, status: Int32) {
        let length = max(count, 1)
        // Not MAP_POPULATE: mapping every page up front took the first core
        // 30 ms on 100 000 jobs before it could start; faulted in as they are
        // read, the pages are mapped by both cores as they go.
        let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
        guard jr_guard_mapping(p, length, message, status) == 0 else {
            munmap(p, length)
            return nil
        }
        // Never written through: only `init(count:)` buffers are filled.
        buffer = UnsafeMutableRawBufferPointer(start: p, count: count)
        owner = .mapped(length: length)
    }

    /// The same bytes under another object, so that two threads building texts
    /// don't retain one reference count (contended, it cost a sixth of a load).
    init(viewOf source: SourceBytes) {
        buffer = source.buffer
        owner = .view(source)
    }

    deinit {
        switch owner {
        case .allocated: buffer.deallocate()
        case .mapped(let length):
            if let base = buffer.baseAddress {
                jr_unguard_mapping(base)
                munmap(base, length)
            }
        case .view: break
        }
    }

    /// A copy of `bytes` (stores read from elsewhere than a file).
    public static func copying(_ bytes: [UInt8]) -> SourceBytes {
        let source = SourceBytes(count: bytes.count)
        bytes.withUnsafeBytes { source.buffer.copyMemory(from: $0) }
        return source
    }

    subscript(span: SourceSpan) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[span.start..<(span.start + span.count)])
    }
}

/// A range of bytes of the loaded file.
struct SourceSpan: Sendable, Equatable {
    var start: Int
    var count: Int
}

/// Free text of the domain: titles, details, notes, message bodies.
///
/// A store holds hundreds of megabytes of it and a run reads little of it, so a
/// loaded text stays a JSON string literal in the file's bytes until someone
/// reads it: loading creates no string, and saving an unchanged object copies its
/// bytes.
public struct Text: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    enum Storage: Sendable {
        /// The inside of a validated JSON string literal; `escaped` if it holds a backslash.
        case literal(SourceBytes, start: Int, count: Int32, escaped: Bool)
        case string(String)
    }

    let storage: Storage

    public init(_ string: String) { storage = .string(string) }
    public init(stringLiteral value: String) { storage = .string(value) }

    init(source: SourceBytes, start: Int, count: Int, escaped: Bool) {
        if count > Int32.max {
            storage = .string(JSONText.decode(UnsafeRawBufferPointer(rebasing: source.buffer[start..<(start + count)]), escaped: escaped))
        } else {
            storage = .literal(source, start: start, count: Int32(count), escaped: escaped)
        }
    }

    public var string: String {
        switch storage {
        case .string(let s): s
        case .literal(let source, let start, let count, let escaped):
            JSONText.decode(UnsafeRawBufferPointer(rebasing: source.buffer[start..<(start + Int(count))]), escaped: escaped)
        }
    }

    public var description: String { string }

    /// Its size in bytes (as stored, escapes included for a literal).
    public var byteCount: Int {
        switch storage {
        case .string(let s): s.utf8.count
        case .literal(_, _, let count, _): Int(count)
        }
    }

    public var isEmpty: Bool {
        switch storage {
        case .string(let s): s.isEmpty
        case .literal(_, _, let count, _): count == 0
        }
    }

    /// Case-insensitive search without building the string when the literal
    /// has no escapes (`needle` already lowercased, ASCII folding only).
    public func contains(lowercased needle: [UInt8]) -> Bool {
        if needle.isEmpty { return true }
        switch storage {
        case .literal(let source, let start, let count, false):
            return JSONText.contains(UnsafeRawBufferPointer(rebasing: source.buffer[start..<(start + Int(count))]), lowercased: needle)
        default:
            var s = string
            return s.withUTF8 { JSONText.contains(UnsafeRawBufferPointer($0), lowercased: needle) }
        }
    }

    public static func == (a: Text, b: Text) -> Bool { a.string == b.string }
    public func hash(into hasher: inout Hasher) { hasher.combine(string) }
}

/// A string written with interpolation, built as UTF-8 bytes: `String`'s own
/// interpolation cost about 470 instructions a piece (growth and the checks of
/// each append, half an assignment's email); this copies each piece's bytes
/// and checks them once at the end.
struct BuiltString: ExpressibleByStringInterpolation {
    let string: String

    init(stringLiteral value: StaticString) {
        string = value.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }

    init(stringInterpolation: Interpolation) {
        string = String(decoding: stringInterpolation.bytes, as: UTF8.self)
    }

    struct Interpolation: StringInterpolationProtocol {
        var bytes: [UInt8] = []

        init(literalCapacity: Int, interpolationCount: Int) {
            bytes.reserveCapacity(literalCapacity + 24 * interpolationCount)
        }

        /// Literals are static UTF-8: appended without going through a String.
        mutating func appendLiteral(_ literal: StaticString) {
            literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
        }

        mutating func appendInterpolation(_ value: String) {
            var value = value
            value.withUTF8 { bytes.append(contentsOf: $0) }
        }
    }
}

extension String {
    /// The string as jobrules shows data on a terminal: control characters
    /// (C0, DEL and C1, which a terminal may obey: move the cursor, clear the
    /// screen, retitle the window) written as `\u{1B}`-style escapes, so that
    /// an id or a name from a store or a feed can't rewrite the operator's
    /// screen. `keepingLines` leaves newlines and tabs (multi-line messages).
    public func terminalSafe(keepingLines: Bool = false) -> String {
        // Most text has none: one pass over the bytes to know.
        var clean = true
        var previous: UInt8 = 0
        for b in utf8 {
            if (b < 0x20 && !(keepingLines && (b == 0x0A || b == 0x09))) || b == 0x7F || (previous == 0xC2 && b < 0xA0 && b >= 0x80) {
                clean = false
                break
            }
            previous = b
        }
        if clean { return self }
        var out = ""
        out.reserveCapacity(utf8.count + 8)
        for scalar in unicodeScalars {
            let v = scalar.value
            if Limits.isControl(v) && !(keepingLines && (v == 0x0A || v == 0x09)) {
                out += "\\u{" + String(v, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
