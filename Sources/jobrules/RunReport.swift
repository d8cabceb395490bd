import Foundation
import LuaHost
import Marketplace
import RuleEngine

/// What a run did (or, dry, would do): the per-rule summary, the failures, the plan.
struct RunReport {
    let store: String
    let now: UnixTime
    let dryRun: Bool
    let revisionBefore: Int64
    var revisionAfter: Int64
    let expired: [String]
    let outcome: RunOutcome
    let changes: [Change]
    var seconds: StepSeconds

    init(batch: Batch, outcome: RunOutcome) {
        store = batch.file.path
        now = batch.now
        dryRun = batch.dryRun
        revisionBefore = batch.revision
        revisionAfter = batch.revision
        expired = batch.expired
        self.outcome = outcome
        changes = batch.store.changes
        seconds = batch.seconds
    }

    var saved: Bool { revisionAfter != revisionBefore }

    func text(style: TextStyle) -> String {
        var out = style.bold("\(store) at \(RFC3339.format(now))")
        if dryRun {
            out += " (dry run: nothing written)\n"
        } else if outcome.stopped {
            out += ": stopped at the first error, nothing written (revision \(revisionBefore))\n"
        } else if saved {
            out += ": revision \(revisionBefore) → \(revisionAfter), \(changes.count) change\(changes.count == 1 ? "" : "s") saved\n"
        } else {
            out += ": nothing to change (revision \(revisionBefore))\n"
        }
        out += "expired: \(expired.isEmpty ? "none" : "\(expired.count) job\(expired.count == 1 ? "" : "s") (\(Self.list(expired)))")\n"
        if !outcome.rules.isEmpty {
            out += "\n" + RuleStats.table(outcome.rules, style: style)
        }
        if dryRun {
            let plan = Plan(changes)
            let objects = plan.entries.count
            out += "\nplan: \(changes.count) change\(changes.count == 1 ? "" : "s") to \(objects) object\(objects == 1 ? "" : "s")\n"
            if !changes.isEmpty { out += plan.text(style: style) }
        }
        if !outcome.failures.isEmpty {
            let count = outcome.failures.count
            out += "\n" + style.error("\(count) error\(count == 1 ? "" : "s")")
            out += outcome.stopped ? " (stopped at the first: --fail-fast)\n" : " (those items' changes were rolled back)\n"
            for failure in outcome.failures {
                out += "  rule \(failure.rule) on \(failure.kind) \(failure.object):\n"
                out += "    " + failure.error.message.replacingOccurrences(of: "\n", with: "\n    ") + "\n"
                if let traceback = failure.error.traceback, !traceback.isEmpty {
                    out += "    " + traceback.replacingOccurrences(of: "\n", with: "\n    ") + "\n"
                }
            }
        }
        return out
    }

    /// At most ten ids, then how many more.
    static func list(_ ids: [String]) -> String {
        ids.count <= 10 ? ids.joined(separator: ", ") : ids.prefix(10).joined(separator: ", ") + ", … \(ids.count - 10) more"
    }

    /// The report as JSON (schema: docs/report.md).
    var json: String {
        let rules = ChangeValue.array(outcome.rules.map { r in
            .object([
                ("name", .string(r.name)), ("on", .string(r.collection.rawValue)),
                ("file", r.position.map { .string($0.chunk) } ?? .null),
                ("line", r.position.map { .int(Int64($0.line)) } ?? .null),
                ("matched", .int(Int64(r.matched))), ("changed", .int(Int64(r.changed))), ("errors", .int(Int64(r.errors))),
                ("seconds", .number(r.seconds)),
            ])
        })
        let errors = ChangeValue.array(outcome.failures.map { f in
            .object([
                ("rule", .string(f.rule)), ("kind", .string(f.kind)), ("object", .string(f.object)),
                ("message", .string(f.error.message)),
                ("file", f.error.chunk.map(ChangeValue.string) ?? .null),
                ("line", f.error.line.map { .int(Int64($0)) } ?? .null),
                ("traceback", f.error.traceback.map(ChangeValue.string) ?? .null),
            ])
        })
        let report = ChangeValue.object([
            ("store", .string(store)), ("now", .time(now)), ("dry_run", .bool(dryRun)), ("saved", .bool(saved)),
            ("stopped", .bool(outcome.stopped)),
            ("revision_before", .int(revisionBefore)), ("revision_after", .int(revisionAfter)),
            ("expired", .strings(expired)), ("rules", rules), ("errors", errors),
            ("change_count", .int(Int64(changes.count))),
            ("seconds", .object([
                ("lock", .number(seconds.lock)), ("load", .number(seconds.load)),
                ("rules", .number(seconds.rules)), ("save", .number(seconds.save)),
            ])),
            ("plan", Plan(changes).json),
        ])
        return report.description + "\n"
    }
}
