import ArgumentParser
import Foundation
import LuaHost

/// The limits every command that runs Lua accepts.
struct LimitOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Wall time one call into Lua may take: seconds, or with a unit (500ms, 10s, 2m); 0 for none.",
            valueName: "TIME"))
    var timeout: String = "10s"

    @Option(
        name: .customLong("memory-limit"),
        help: ArgumentHelp(
            "Memory the Lua heap may hold: bytes, or with a unit (64M, 512MiB, 1G); 0 for none.",
            valueName: "SIZE"))
    var memoryLimit: String = "512MiB"

    func validate() throws {
        _ = try limits()
    }

    func limits() throws -> LuaLimits {
        guard let timeout = Self.parseDuration(timeout) else {
            throw ValidationError(
                "invalid --timeout '\(self.timeout)': expected seconds or a number with ms, s, m or h (like 500ms, 10s, 2m), at most 365 days")
        }
        guard let memory = Self.parseSize(memoryLimit) else {
            throw ValidationError("invalid --memory-limit '\(memoryLimit)': expected bytes or a number with K, M or G")
        }
        return LuaLimits(timeout: timeout == .zero ? nil : timeout, memory: memory == 0 ? nil : memory)
    }

    /// `DIGITS[.DIGITS][UNIT]` with UNIT one of ms, s (the default), m, h:
    /// no sign, exponent or other base. A value between 0 and a nanosecond
    /// rounds up to one (only `0` means none); at most 365 days.
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, UInt64)] = [("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        var number = Substring(text)
        var scale: UInt64 = 1_000_000_000
        for (suffix, nanoseconds) in units where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = nanoseconds
            break
        }
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits: (Substring) -> Bool = { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
        guard let whole = parts.first, digits(whole), parts.count == 1 || digits(parts[1]) else { return nil }
        let limit: UInt64 = 365 * 86_400 * 1_000_000_000
        // The whole part: more than 12 digits is past any limit.
        guard whole.count <= 12, let wholeValue = UInt64(whole) else { return nil }
        let (wholeNanoseconds, overflow) = wholeValue.multipliedReportingOverflow(by: scale)
        guard !overflow, wholeNanoseconds <= limit else { return nil }
        // The fraction: its first 9 digits times the scale over 10^digits, in
        // full width (it can't overflow), rounded up, and up again when a
        // later digit isn't 0.
        var fractionNanoseconds: UInt64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            let kept = fraction.prefix(9)
            var power: UInt64 = 1
            for _ in kept { power *= 10 }
            let value = UInt64(kept) ?? 0
            let product = value.multipliedFullWidth(by: scale)
            let (quotient, remainder) = power.dividingFullWidth(product)
            fractionNanoseconds = quotient + (remainder != 0 || fraction.dropFirst(9).contains { $0 != "0" } ? 1 : 0)
        }
        guard fractionNanoseconds <= limit - wholeNanoseconds else { return nil }
        return .nanoseconds(Int64(wholeNanoseconds + fractionNanoseconds))
    }

    /// `DIGITS[UNIT]` with UNIT one of B, K, M, G, KiB, MiB, GiB (powers of 1024).
    static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30),
            ("B", 1),
        ]
        var number = Substring(text)
        var scale = 1
        for (suffix, factor) in units where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        guard !number.isEmpty, number.count <= 18, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(number) else {
            return nil
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }
}

/// `--max-run-time`: the whole batch's cap, for the commands that run one.
struct RunTimeOptions: ParsableArguments {
    @Option(
        name: .customLong("max-run-time"),
        help: ArgumentHelp(
            "Wall time the whole command may take (rules, events, saving): past it, it stops with nothing written, exit 2; 0 for none.",
            valueName: "TIME"))
    var maxRunTime: String = "30m"

    func validate() throws {
        _ = try limit()
    }

    /// The cap, or nil for none.
    func limit() throws -> Duration? {
        guard let time = LimitOptions.parseDuration(maxRunTime) else {
            throw ValidationError(
                "invalid --max-run-time '\(maxRunTime)': expected seconds or a number with ms, s, m or h (like 90s, 30m, 2h), at most 365 days")
        }
        return time == .zero ? nil : time
    }
}
