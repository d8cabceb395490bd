import Foundation
import LuaHost
import Marketplace
import RuleEngine

/// What every report of a locked batch starts with: the store, the clock,
/// the revisions, the expiry, the changes and the steps' seconds.
struct BatchSummary {
    let store: String
    let now: UnixTime
    let dryRun: Bool
    let revisionBefore: Int64
    var revisionAfter: Int64
    let expired: [String]
    let changes: [Change]
    var seconds: StepSeconds

    init(_ locked: LockedStore, changes: [Change]) {
        store = locked.file.path
        now = locked.now
        dryRun = locked.dryRun
        revisionBefore = locked.revision
        revisionAfter = locked.revision
        expired = locked.expired
        self.changes = changes
        seconds = locked.seconds
    }

    var saved: Bool { revisionAfter != revisionBefore }

    /// The report's first line, whose end (": …" or " (dry run…)") the caller gives.
    func title(style: TextStyle) -> String { style.bold("\(store.terminalSafe()) at \(RFC3339.format(now))") }

    /// The title's end for a written batch: ": revision 1 → 2, 5 changes saved".
    var savedLine: String {
        ": revision \(revisionBefore) → \(revisionAfter), \(changes.count) change\(changes.count == 1 ? "" : "s") saved\n"
    }

    var expiredLine: String {
        "expired: \(expired.isEmpty ? "none" : "\(expired.count) job\(expired.count == 1 ? "" : "s") (\(Self.list(expired)))")\n"
    }

    /// At most ten ids, then how many more.
    static func list(_ ids: [String]) -> String {
        let shown = ids.prefix(10).map { $0.terminalSafe() }.joined(separator: ", ")
        return ids.count <= 10 ? shown : shown + ", … \(ids.count - 10) more"
    }

    /// The plan's heading and the plan (dry runs).
    func plan(style: TextStyle) -> String {
        let plan = Plan(changes)
        let objects = plan.entries.count
        var out = "\nplan: \(changes.count) change\(changes.count == 1 ? "" : "s") to \(objects) object\(objects == 1 ? "" : "s")"
        // Steps that undo each other, or pass through a field twice, show as one net change.
        if plan.netCount != changes.count { out += " (shown as \(plan.netCount) net change\(plan.netCount == 1 ? "" : "s"))" }
        out += "\n"
        if !changes.isEmpty { out += plan.text(style: style) }
        return out
    }

    /// The JSON members every batch report has, in order.
    var jsonMembers: [(String, ChangeValue)] {
        [
            ("store", .string(store)), ("now", .time(now)), ("dry_run", .bool(dryRun)), ("saved", .bool(saved)),
            ("revision_before", .int(revisionBefore)), ("revision_after", .int(revisionAfter)),
            ("expired", .strings(expired)),
        ]
    }
}

/// What a run did (or, dry, would do): the per-rule summary, the failures, the plan.
struct RunReport {
    var summary: BatchSummary
    let outcome: RunOutcome

    init(batch: Batch, outcome: RunOutcome) {
        summary = BatchSummary(batch.locked, changes: batch.store.changes)
        self.outcome = outcome
    }

    func text(style: TextStyle) -> String {
        let s = summary
        var out = s.title(style: style)
        if s.dryRun {
            out += " (dry run: nothing written)\n"
        } else if outcome.stopped {
            out += ": stopped at the first error, nothing written (revision \(s.revisionBefore))\n"
        } else if s.saved {
            out += s.savedLine
        } else {
            out += ": nothing to change (revision \(s.revisionBefore))\n"
        }
        out += s.expiredLine
        if !outcome.rules.isEmpty {
            out += "\n" + RuleStats.table(outcome.rules, style: style)
        }
        if s.dryRun { out += s.plan(style: style) }
        if !outcome.failures.isEmpty {
            let count = outcome.failures.count
            let groups = FailureGroup.group(outcome.failures)
            out += "\n" + style.error("\(count) error\(count == 1 ? "" : "s")")
            if groups.count < count { out += ", \(groups.count) distinct" }
            out += outcome.stopped ? " (stopped at the first: --fail-fast)\n" : " (those items' changes were rolled back)\n"
            for group in groups {
                let failure = group.first
                if failure.kind == "file" {
                    out += "  the top level of \(failure.object.terminalSafe()) (none of its rules ran; its other files' did):\n"
                } else if failure.kind == "rule" {
                    out += "  rule \(failure.rule.terminalSafe()) (it did not run; the other rules did):\n"
                } else {
                    out += "  rule \(failure.rule.terminalSafe()) on \(group.items.terminalSafe()):\n"
                }
                out += "    " + failure.error.message.terminalSafe(keepingLines: true).replacingOccurrences(of: "\n", with: "\n    ") + "\n"
                if let traceback = failure.error.traceback, !traceback.isEmpty {
                    out += "    " + traceback.terminalSafe(keepingLines: true).replacingOccurrences(of: "\n", with: "\n    ") + "\n"
                }
            }
            if groups.count < count { out += "  (--json lists every item)\n" }
        }
        return out
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
                ("rule", f.kind == "file" ? .null : .string(f.rule)), ("kind", .string(f.kind)), ("object", .string(f.object)),
                ("message", .string(f.error.message)),
                ("file", f.error.chunk.map(ChangeValue.string) ?? .null),
                ("line", f.error.line.map { .int(Int64($0)) } ?? .null),
                ("traceback", f.error.traceback.map(ChangeValue.string) ?? .null),
            ])
        })
        let s = summary
        let report = ChangeValue.object(s.jsonMembers + [
            ("exit", .int(outcome.stopped ? 2 : outcome.failures.isEmpty ? 0 : 1)), ("error", .null),
            ("stopped", .bool(outcome.stopped)), ("rules", rules), ("errors", errors),
            ("change_count", .int(Int64(s.changes.count))),
            ("seconds", .object([
                ("lock", .number(s.seconds.lock)), ("load", .number(s.seconds.load)),
                ("rules", .number(s.seconds.rules)), ("save", .number(s.seconds.save)),
            ])),
            ("plan", Plan(s.changes).json),
        ])
        return report.description + "\n"
    }
}
