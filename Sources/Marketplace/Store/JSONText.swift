/// JSON string literals over bytes: unescaping what the reader validated,
/// escaping what the writer emits, and searching without decoding.
enum JSONText {
    /// The string a validated literal's inside stands for.
    static func decode(_ bytes: UnsafeRawBufferPointer, escaped: Bool) -> String {
        guard escaped else { return String(decoding: bytes, as: UTF8.self) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            guard b == UInt8(ascii: "\\"), i + 1 < n else {
                out.append(b)
                i += 1
                continue
            }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = hex4(bytes, at: i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= n, bytes[i] == UInt8(ascii: "\\"),
                    bytes[i + 1] == UInt8(ascii: "u")
                {
                    let low = hex4(bytes, at: i + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                appendUTF8(Unicode.Scalar(scalar) ?? "\u{FFFD}", to: &out)
            default: out.append(e)  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex4(_ bytes: UnsafeRawBufferPointer, at i: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in i..<min(i + 4, bytes.count) {
            value = value << 4 | UInt32(hexValue(bytes[k]))
        }
        return value
    }

    /// 0–15, or 0xFF for a byte that is not a hex digit.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8 {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - 55
        default: 0xFF
        }
    }

    static func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        UTF8.encode(scalar) { out.append($0) }
    }

    /// Whether `haystack`, ASCII letters folded to lower case, contains `needle`
    /// (already lower case).
    static func contains(_ haystack: UnsafeRawBufferPointer, lowercased needle: [UInt8]) -> Bool {
        let m = needle.count
        let n = haystack.count
        guard m <= n else { return false }
        let first = needle[0]
        var i = 0
        while i <= n - m {
            if lower(haystack[i]) == first {
                var k = 1
                while k < m, lower(haystack[i + k]) == needle[k] { k += 1 }
                if k == m { return true }
            }
            i += 1
        }
        return false
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 {
        b &- UInt8(ascii: "A") < 26 ? b | 0x20 : b
    }
}
