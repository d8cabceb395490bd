#if canImport(Glibc)
import Glibc
#endif

/// What an event says, as a 64-bit digest: an event id names one event, and
/// one seen again with other content is refused. Two lines say the same when
/// they hold the same JSON value (members in any order, any spacing, any
/// escapes); the digest is of that value: each member's value digested on its
/// own with its key, combined without regard to their order.
///
/// Written here, a few lines: it must be stable across versions and machines
/// (Swift's `Hasher` is seeded per process), fast (every event of a feed is
/// digested: a cryptographic hash over a canonical copy doubled the time to
/// read a feed), and it only tells a replay from a change. It guards against
/// mistakes, not against a feed that wants to fool it: such a feed can say
/// anything under a new id anyway.
enum EventDigest {
    /// The digest of the JSON value in `bytes` (already read once and found valid); never 0.
    static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var r = JSONReader(bytes)
        let digest: UInt64
        do {
            digest = try value(&r)
        } catch {
            // Valid by the time it is digested; should it not be, its bytes are what it says.
            digest = Self.bytes(bytes, seed: 0x62)
        }
        return digest == 0 ? 1 : digest
    }

    /// Mixes `b` into `a` (multiply and shift, as splitmix64 does).
    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = (a ^ b) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        return z ^ (z >> 31)
    }

    /// The digest of some bytes, eight at a time, their count included.
    private static func bytes(_ b: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var h = mix(seed, UInt64(b.count))
        var i = 0
        while i + 8 <= b.count {
            h = mix(h, b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < b.count {
            tail |= UInt64(b[i]) << shift
            shift += 8
            i += 1
        }
        return mix(h, tail)
    }

    /// A string's text, decoded only when it has escapes.
    private static func string(_ t: StringToken, in r: JSONReader) -> UInt64 {
        let raw = UnsafeRawBufferPointer(rebasing: r.bytes[t.start..<(t.start + t.count)])
        guard t.escaped else { return bytes(raw, seed: 0x73) }
        var text = JSONText.decode(raw, escaped: true)
        return text.withUTF8 { bytes(UnsafeRawBufferPointer($0), seed: 0x73) }
    }

    private static func value(_ r: inout JSONReader) throws(JSONSyntaxError) -> UInt64 {
        switch try r.kind() {
        case .object:
            // Members in any order say the same: each key with its value is
            // digested, and those digests are summed (no sorting needed).
            r.pos += 1
            var sum: UInt64 = 0
            var count: UInt64 = 0
            if !r.consume(UInt8(ascii: "}")) {
                repeat {
                    let key = string(try r.string(), in: r)
                    try r.expect(UInt8(ascii: ":"), "':'")
                    sum &+= mix(key, try value(&r))
                    count += 1
                } while r.consume(UInt8(ascii: ","))
                try r.expect(UInt8(ascii: "}"), "'}'")
            }
            return mix(mix(0x6F, count), sum)
        case .array:
            r.pos += 1
            var h: UInt64 = 0x61
            if !r.consume(UInt8(ascii: "]")) {
                repeat {
                    h = mix(h, try value(&r))
                } while r.consume(UInt8(ascii: ","))
                try r.expect(UInt8(ascii: "]"), "']'")
            }
            return mix(h, 0x5D)
        case .string:
            return string(try r.string(), in: r)
        case .number:
            let start = r.pos
            switch try r.number() {
            case .integer(let i): return mix(0x69, UInt64(bitPattern: i))
            case .float(let d):
                // 1.0 says what 1 says.
                if d.rounded() == d, let i = Int64(exactly: d) { return mix(0x69, UInt64(bitPattern: i)) }
                return mix(0x64, d.bitPattern)
            case .outOfRange: return bytes(UnsafeRawBufferPointer(rebasing: r.bytes[start..<r.pos]), seed: 0x6E)
            }
        case .bool:
            return try r.bool() ? 0x74 : 0x66
        case .null:
            try r.literal("null")
            return 0x7A
        }
    }
}
