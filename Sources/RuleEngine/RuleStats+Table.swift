import Foundation
import Marketplace

extension RuleStats {
    /// One row per rule: matched, changed, errors, time.
    public static func table(_ rules: [RuleStats], style: TextStyle) -> String {
        let names = rules.map { $0.name.terminalSafe() }
        let nameWidth = max(4, names.map(\.count).max() ?? 0)
        var out = style.bold(
            "rule".padded(nameWidth) + "  on      " + "matched".rightAligned(8) + "changed".rightAligned(9)
                + "errors".rightAligned(8) + "time".rightAligned(10)) + "\n"
        for (r, name) in zip(rules, names) {
            let errors = "\(r.errors)".rightAligned(8)
            out += name.padded(nameWidth) + "  " + r.collection.rawValue.padded(6) + "  "
                + "\(r.matched)".rightAligned(8) + "\(r.changed)".rightAligned(9)
                + (r.errors > 0 ? style.error(errors) : errors) + Self.format(r.duration).rightAligned(10) + "\n"
        }
        return out
    }

    static func format(_ d: Duration) -> String {
        let seconds = seconds(d)
        if seconds < 1 { return String(format: "%.1f ms", seconds * 1000) }
        return String(format: "%.2f s", seconds)
    }

    /// The rule's time in seconds.
    public var seconds: Double { Self.seconds(duration) }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
