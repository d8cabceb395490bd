/// Unix seconds, UTC: the time unit of the domain (and of the Lua API).
public typealias UnixTime = Int64

/// RFC 3339 times as the store writes them (`2026-11-21T09:30:00Z`).
///
/// Written by hand over bytes: the store holds millions of timestamps, and
/// Foundation's ISO 8601 formatter costs microseconds per call.
public enum RFC3339 {
    /// `2026-11-21T09:30:00Z`, always UTC, whole seconds.
    public static func format(_ time: UnixTime) -> String {
        var bytes = [UInt8](repeating: 0, count: 20)
        bytes.withUnsafeMutableBufferPointer { write(time, into: $0.baseAddress.unsafelyUnwrapped) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the 20 bytes of `format(time)` at `out`.
    static func write(_ time: UnixTime, into out: UnsafeMutablePointer<UInt8>) {
        let days = time >= 0 ? time / 86400 : (time - 86399) / 86400
        let secondOfDay = time - days * 86400
        let (year, month, day) = civil(fromDays: days)
        func put(_ value: Int64, _ width: Int, at offset: Int) {
            var v = value
            for i in stride(from: width - 1, through: 0, by: -1) {
                out[offset + i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                v /= 10
            }
        }
        put(year, 4, at: 0)
        out[4] = UInt8(ascii: "-")
        put(month, 2, at: 5)
        out[7] = UInt8(ascii: "-")
        put(day, 2, at: 8)
        out[10] = UInt8(ascii: "T")
        put(secondOfDay / 3600, 2, at: 11)
        out[13] = UInt8(ascii: ":")
        put(secondOfDay / 60 % 60, 2, at: 14)
        out[16] = UInt8(ascii: ":")
        put(secondOfDay % 60, 2, at: 17)
        out[19] = UInt8(ascii: "Z")
    }

    /// Parses an RFC 3339 date-time (`Z` or a `±hh:mm` offset, optional
    /// fraction, which is dropped: the domain counts whole seconds) within
    /// `range`; nil for anything else.
    public static func parse(_ text: String) -> UnixTime? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    static func parse(_ s: UnsafeRawBufferPointer) -> UnixTime? {
        guard let time = parseUnbounded(s), range.contains(time) else { return nil }
        return time
    }

    /// An RFC 3339 date-time, even out of `range` (to say why one is refused).
    public static func parseUnbounded(_ text: String) -> UnixTime? {
        var text = text
        return text.withUTF8 { parseUnbounded(UnsafeRawBufferPointer($0)) }
    }

    static func parseUnbounded(_ s: UnsafeRawBufferPointer) -> UnixTime? {
        let n = s.count
        guard n >= 20 else { return nil }
        func digits(_ at: Int, _ count: Int) -> Int64? {
            var value: Int64 = 0
            for i in at..<(at + count) {
                let d = s[i] &- 48
                guard d < 10 else { return nil }
                value = value * 10 + Int64(d)
            }
            return value
        }
        guard let year = digits(0, 4), s[4] == UInt8(ascii: "-"),
            let month = digits(5, 2), s[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), s[10] | 0x20 == UInt8(ascii: "t"),
            let hour = digits(11, 2), s[13] == UInt8(ascii: ":"),
            let minute = digits(14, 2), s[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return nil }
        guard let local = time(year: year, month: month, day: day, hour: hour, minute: minute, second: second) else { return nil }
        var i = 19
        if s[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < n, s[i] &- 48 < 10 { i += 1 }
            guard i > start else { return nil }
        }
        guard i < n else { return nil }
        var offset: Int64 = 0
        if s[i] | 0x20 == UInt8(ascii: "z") {
            i += 1
        } else if s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
            guard i + 6 == n, let oh = digits(i + 1, 2), s[i + 3] == UInt8(ascii: ":"),
                let om = digits(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = (oh * 3600 + om * 60) * (s[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == n else { return nil }
        return local - offset
    }

    /// The time of a UTC date and time of day, or nil when one is out of range.
    @inline(__always)
    static func time(year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64) -> UnixTime? {
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 61
        else { return nil }
        return days(fromCivil: year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil and civil_from_days.
    private static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }

    /// The times jobrules handles, the ones RFC 3339 can write with a year
    /// of four digits but 0000: the store, feeds, `--now`, `time.parse` and
    /// `time.iso` take no other, and an action whose result would leave the
    /// range (an extension past 9999) is refused.
    public static let range: ClosedRange<UnixTime> = -62_135_596_800...253_402_300_799
    public static let rangeDescription = "times run from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"

    /// `time + seconds` when it stays in `range`.
    public static func adding(_ seconds: Int64, to time: UnixTime) -> UnixTime? {
        let (sum, overflow) = time.addingReportingOverflow(seconds)
        return !overflow && range.contains(sum) ? sum : nil
    }
}
