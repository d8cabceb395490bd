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
            throw ValidationError("invalid --timeout '\(self.timeout)': expected seconds or a number with ms, s, m or h")
        }
        guard let memory = Self.parseSize(memoryLimit) else {
            throw ValidationError("invalid --memory-limit '\(memoryLimit)': expected bytes or a number with K, M or G")
        }
        return LuaLimits(timeout: timeout == .zero ? nil : timeout, memory: memory == 0 ? nil : memory)
    }

    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(text.trimmingCharacters(in: .whitespaces))
        var scale = 1.0
        for (suffix, factor) in units where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0, value * scale <= 365 * 86400 else { return nil }
        return .milliseconds(Int64((value * scale * 1000).rounded()))
    }

    static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30),
            ("B", 1),
        ]
        var number = Substring(text.trimmingCharacters(in: .whitespaces))
        var scale = 1
        for (suffix, factor) in units where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Int(number), value >= 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }
}
