import ArgumentParser
import Foundation
import LuaHost
import Marketplace
import RuleEngine

/// `jobrules exec SCRIPT.lua`: a script with the whole API, on the store.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a Lua script with the whole API on the store, and save what it changed.",
        discussion: """
            The script (a file, - for standard input, or -e 'LUA' for a one-liner) acts at top \
            level (and may declare rules, which run after it, as `run` runs them). The store is \
            locked while it runs and saved once at the end if the script changed anything (then \
            with the expiry at load; a script that only reads saves nothing); what was saved, or \
            with --dry-run the plan, is reported on standard error so that standard output is the \
            script's own.

            Exit status: 0 when it ran (and was saved); 1 when the script raised an error or hit a \
            limit (nothing of it is saved) or a rule it declared failed on some item (that item's \
            changes were rolled back); 2 when it could not start: a bad store, an unreadable script.
            """
    )

    @Argument(help: ArgumentHelp("The Lua script to run; - reads it from standard input.", valueName: "SCRIPT.lua|-"))
    var script: String?

    @Option(name: .customShort("e"), help: ArgumentHelp("Run this Lua text instead of a script file.", valueName: "LUA"))
    var expression: String?

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print the plan on standard error; write nothing (store and audit log).")
    var dryRun = false

    @OptionGroup var limitOptions: LimitOptions

    @OptionGroup var runTime: RunTimeOptions

    @Argument(
        parsing: .postTerminator,
        help: ArgumentHelp("Arguments for the script, after --: the global `arg` (arg[0] is the script).", valueName: "ARG"))
    var scriptArguments: [String] = []

    func validate() throws {
        switch (script, expression) {
        case (nil, nil): throw ValidationError("give a script (SCRIPT.lua, or - for standard input) or -e 'LUA'")
        case (.some, .some): throw ValidationError("give a script or -e 'LUA', not both")
        default: break
        }
    }

    /// The chunk's text, its name in messages (as `lua` names them) and its actor's name.
    private func source() throws -> (bytes: [UInt8], chunk: String, name: String) {
        if let expression { return (Array(expression.utf8), "=(command line)", "(command line)") }
        let script = script ?? "-"
        do {
            if script == "-" {
                return (try InputFile.read(fd: 0, name: "standard input", limit: Limits.scriptBytes), "=stdin", "stdin")
            }
            return (try InputFile.read(script, limit: Limits.scriptBytes), "@" + script, URL(fileURLWithPath: script).lastPathComponent)
        } catch {
            throw UsageError(error.description)
        }
    }

    func run() throws {
        let (source, chunk, name) = try source()
        let script = self.script ?? "(command line)"
        let deadline = RunDeadline(try runTime.limit(), given: runTime.maxRunTime)
        let batch = try Batch(options: storeOptions, limits: try limitOptions.limits(), dryRun: dryRun, deadline: deadline)
        defer { batch.release() }
        let store = batch.store
        store.actor = "exec:" + name
        do {
            var arguments = LuaTable(array: scriptArguments.map { .string(LuaString($0)) })
            arguments.fields[0] = .string(LuaString(script))
            try batch.session.lua.setGlobal("arg", .table(arguments))
            try batch.session.lua.execute(bytes: source, chunkName: chunk)
        } catch {
            if error.kind == .deadline { throw deadline.error("running \(script)") }
            // The script is one unit: nothing is saved, not even the expiry.
            printError("jobrules: " + error.report)
            throw ExitStatus.failure
        }
        var outcome = RunOutcome()
        if !batch.session.rules.isEmpty {
            let progress = ProgressLine()
            outcome = batch.session.run(batch.session.rules, progress: progress.callback)
            progress.clear()
            if outcome.outOfTime {
                throw deadline.error(outcome.stoppedAt.map { "at rule \($0.rule) on \($0.kind) \($0.object)" } ?? "running the rules")
            }
        }
        let changes = store.changes
        // A script that changed nothing leaves the store as it was: the
        // expiry at load is saved by `run` and `import`, not by a read-only script.
        let revision = changes.count > batch.locked.changesAtLoad ? try batch.save() : batch.revision
        fflush(nil)
        let style = Terminal.errorStyle
        var out = ""
        if !outcome.rules.isEmpty { out += RuleStats.table(outcome.rules, style: style) }
        if dryRun {
            if changes.count == batch.locked.changesAtLoad {
                if !changes.isEmpty {
                    out += "jobrules: dry run: the script changed nothing, so nothing would be saved (the expiry at load "
                        + "is saved by run and import)\n"
                }
            } else if !changes.isEmpty {
                out += "jobrules: dry run, nothing written; the plan (\(changes.count) change\(changes.count == 1 ? "" : "s")):\n"
                out += Plan(changes).text(style: style)
            }
        } else if revision != batch.revision {
            out += "jobrules: \(batch.file.path.terminalSafe()): revision \(batch.revision) → \(revision), \(changes.count) change\(changes.count == 1 ? "" : "s") saved\n"
        }
        for group in FailureGroup.group(outcome.failures) {
            out += "jobrules: rule \(group.first.rule) on \(group.items): \(group.first.error.report)".terminalSafe(keepingLines: true) + "\n"
        }
        if !out.isEmpty { FileHandle.standardError.write(Data(out.utf8)) }
        if !outcome.failures.isEmpty { throw ExitStatus.failure }
    }
}
