import ArgumentParser
import Foundation
import Marketplace

/// `jobrules run`: one batch over the store, saved once at the end.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Load the store, apply expiry, save once, and append the audit log.",
        discussion: """
            The store is locked from loading to saving, so runs on one store take turns. \
            Exit status: 0 when the run was saved (or, with --dry-run, planned); 2 when nothing \
            was written: an invalid store, a lock held too long, a failed write.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print what would change; write nothing (store and audit log).")
    var dryRun = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let report: RunReport
        do {
            report = try perform(now: storeOptions.clock)
        } catch {
            throw error.asUsageError
        }
        print(json ? report.json : report.text, terminator: "")
    }

    /// Lock, load, expire, save: the store is locked until it returns.
    private func perform(now: UnixTime) throws(StoreError) -> RunReport {
        let file = storeOptions.file
        let lock = try file.lock(timeout: storeOptions.lockTimeout)
        defer { lock.unlock() }
        let loaded = try file.load()
        if !dryRun { file.recover(storeRevision: loaded.version.revision) }
        let store = loaded.store
        store.actor = "expiry"
        let expired = store.expireDueJobs(at: now)
        let changes = store.changes
        var revision = loaded.version.revision
        if !dryRun, !changes.isEmpty {
            let saved = try file.save(
                store, over: loaded.version, audit: AuditBatch(runID: AuditBatch.newRunID(), at: now, changes: changes))
            revision = saved.revision
            store.commit()
        }
        return RunReport(
            store: file.path, now: now, dryRun: dryRun, revisionBefore: loaded.version.revision, revisionAfter: revision,
            expired: expired.map { store.jobs[$0].id }, changes: changes)
    }
}

/// What a run did (or, dry, would do).
struct RunReport {
    let store: String
    let now: UnixTime
    let dryRun: Bool
    let revisionBefore: Int64
    let revisionAfter: Int64
    let expired: [String]
    let changes: [Change]

    var text: String {
        var out = "\(store) at \(RFC3339.format(now))"
        if dryRun {
            out += " (dry run: nothing written)\n"
        } else if revisionAfter != revisionBefore {
            out += ": revision \(revisionBefore) → \(revisionAfter)\n"
        } else {
            out += ": nothing to change (revision \(revisionBefore))\n"
        }
        out += "expired: \(expired.isEmpty ? "none" : "\(expired.count) job\(expired.count == 1 ? "" : "s") (\(expired.joined(separator: ", ")))")\n"
        if dryRun, !changes.isEmpty {
            out += "plan:\n"
            for c in changes {
                let subject = c.kind == c.object ? c.kind : "\(c.kind) \(c.object)"
                out += "  \(subject) \(c.field): \(c.old) → \(c.new)  [\(c.actor)]\n"
            }
        }
        return out
    }

    var json: String {
        let changes = ChangeValue.array(self.changes.map { c in
            .object([
                ("actor", .string(c.actor)), ("kind", .string(c.kind)), ("object", .string(c.object)), ("field", .string(c.field)),
                ("old", c.old), ("new", c.new),
            ])
        })
        let report = ChangeValue.object([
            ("store", .string(store)), ("now", .time(now)), ("dry_run", .bool(dryRun)),
            ("revision_before", .int(revisionBefore)), ("revision_after", .int(revisionAfter)),
            ("expired", .strings(expired)), ("changes", changes),
        ])
        return report.description + "\n"
    }
}
