import ArgumentParser
import Foundation
import LuaHost
import Marketplace
import RuleEngine

/// `jobrules run`: one batch over the store, saved once at the end.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Load the store, apply expiry, run the rules, save once, and append the audit log.",
        discussion: """
            Rule files run in name order, rules in declaration order, items in store order, in one \
            pass. Each rule × item runs in a savepoint: an error rolls back that item's changes and \
            the run goes on. The store is locked from loading to saving, so runs on one store take \
            turns.

            Exit status: 0 when every rule ran and the run was saved (or, with --dry-run, planned); \
            1 when some rule failed on some item (its changes were rolled back, the rest was saved); \
            2 when nothing was written: an invalid store or rule file, an unknown --only name, a \
            failure with --fail-fast, a lock held too long, a failed write.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp("Rule files, or directories of .lua files (default: rules).", valueName: "DIR|FILE"))
    var rules: [String] = []

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Run only these rules (by name).", valueName: "NAME"))
    var only: [String] = []

    @Flag(help: "Print the plan: every change with the rule that made it; write nothing (store and audit log).")
    var dryRun = false

    @Flag(help: "Print the report as JSON (schema: docs/report.md).")
    var json = false

    @Flag(help: "Stop at the first rule error and save nothing.")
    var failFast = false

    @OptionGroup var limitOptions: LimitOptions

    @OptionGroup var runTime: RunTimeOptions

    func run() throws {
        let deadline = RunDeadline(try runTime.limit(), given: runTime.maxRunTime)
        let files = try RuleFile.resolved(rules)
        // With --json, standard output holds the report alone: what scripts print goes to standard error.
        let output: (UnsafeRawBufferPointer) -> Void = json ? { LuaState.standardError($0) } : { LuaState.standardOutput($0) }
        let batch = try Batch(
            options: storeOptions, limits: try limitOptions.limits(), dryRun: dryRun, deadline: deadline, output: output)
        defer { batch.release() }
        var mark = monotonicSeconds()
        let loaded = try batch.load(ruleFiles: files, only: only.isEmpty ? nil : only)
        guard loaded.problems.isEmpty else {
            throw UsageError("rule files are invalid, nothing was run or written:\n" + loaded.problems.joined(separator: "\n"))
        }
        let selected: [Rule]
        do {
            // A rule asked for that can't run on this store is reported as failed, not unknown.
            let failedAlone = Set(loaded.failures.filter { $0.kind == "rule" }.map(\.rule))
            selected = only.isEmpty ? batch.session.rules : try batch.session.rules(named: only.filter { !failedAlone.contains($0) })
        } catch {
            let failed = loaded.failures.filter { $0.kind == "file" }.map(\.object)
            let note = failed.isEmpty ? "" : " (the top level of \(failed.joined(separator: ", ")) failed, so its rules are unknown)"
            throw UsageError(error.description + note)
        }
        if failFast, let first = loaded.failures.first {
            var outcome = RunOutcome()
            outcome.failures = [first]
            outcome.stopped = true
            batch.seconds.rules = batch.seconds.lap(&mark)
            let report = RunReport(batch: batch, outcome: outcome)
            if json { JSONReport.print(report.json) } else { print(report.text(style: Terminal.outputStyle), terminator: "") }
            throw ExitStatus.invalidInput  // stopped: nothing was written
        }
        let progress = ProgressLine()
        var outcome = batch.session.run(selected, failFast: failFast, progress: progress.callback)
        outcome.failures = loaded.failures + outcome.failures
        progress.clear()
        if outcome.outOfTime {
            let at = outcome.stoppedAt.map { "at rule \($0.rule) on \($0.kind) \($0.object)" } ?? "running the rules"
            throw deadline.error(at)
        }
        batch.seconds.rules = batch.seconds.lap(&mark)
        var report = RunReport(batch: batch, outcome: outcome)
        if !outcome.stopped {
            report.summary.revisionAfter = try batch.save()
            report.summary.seconds = batch.seconds
        }
        if json { JSONReport.print(report.json) } else { print(report.text(style: Terminal.outputStyle), terminator: "") }
        if outcome.stopped { throw ExitStatus.invalidInput }  // --fail-fast: nothing was written
        if !outcome.failures.isEmpty { throw ExitStatus.failure }
    }
}
