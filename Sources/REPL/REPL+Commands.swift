import Foundation
import LuaHost
import Marketplace
import RuleEngine

extension REPL {
    enum Outcome { case proceed, quit }

    static let commands: [(name: String, arguments: String, summary: String)] = [
        ("help", "[NAME]", "these lines; with NAME, one function, method or object type, with an example"),
        ("run", "[RULE…]", "run the rules (the rule files, then those declared here), staged"),
        ("diff", "", "the pending changes, in the plan format of `run --dry-run`"),
        ("undo", "", "drop the changes of the last statement (or :run)"),
        ("save", "", "write the pending changes to the store and its audit log"),
        ("reload", "", "re-read the store, dropping the pending changes (asks first)"),
        ("show", "EXPR", "every field of an object, or a whole table"),
        ("quit", "", "leave (asks about pending changes); Ctrl-D too"),
    ]

    /// Runs a `:command` line.
    func command(_ line: String) -> Outcome {
        let body = line.dropFirst()
        let name = String(body.prefix { !$0.isWhitespace })
        let argument = body.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
        let matches = Self.commands.map(\.name).filter { $0.hasPrefix(name) }
        let resolved = Self.commands.contains { $0.name == name } ? name : (matches.count == 1 ? matches[0] : nil)
        guard !name.isEmpty, let resolved else {
            let hint = matches.count > 1 ? " (could be :\(matches.joined(separator: ", :")))" : ""
            warn("unknown command ':\(name)'\(hint); :help lists them")
            return .proceed
        }
        switch resolved {
        case "help": help(argument)
        case "run": runRules(argument.split(separator: " ").map(String.init))
        case "diff": diff()
        case "undo": undo()
        case "save": save()
        case "reload": reload()
        case "show": show(argument)
        default: return leave() ? .quit : .proceed
        }
        return .proceed
    }

    // MARK: Staged changes

    func diff() {
        let changes = store.changes
        guard !changes.isEmpty else { return say("no pending changes\n") }
        let plan = Plan(changes)
        let expiry = stagedAtLoad > 0 ? ", with \(stagedAtLoad) from the expiry at load," : ""
        say("\(Self.count(pending, "pending change"))\(expiry) to \(Self.count(plan.entries.count, "object")):\n")
        say(plan.text(style: style))
    }

    func undo() {
        guard let step = steps.popLast() else { return say("nothing to undo\n") }
        store.rollback(to: step.savepoint)
        if let entry = step.entry { journal[entry].undone = true }
        let label = step.label.split(separator: "\n").first.map(String.init) ?? step.label
        say("undid \(Self.count(step.changes, "change")) of: \(label)\(step.label.contains("\n") ? " …" : "")\n")
    }

    /// Writes the staged changes; false when nothing could be written. When
    /// another process saved the store meanwhile, offers to reload it and
    /// replay this session's statements on top.
    @discardableResult
    func save() -> Bool {
        switch write() {
        case .saved: return true
        case .failed: return false
        case .stale:
            offerReplay()
            return false
        }
    }

    enum SaveOutcome { case saved, failed, stale }

    private func write() -> SaveOutcome {
        let changes = store.changes
        guard !changes.isEmpty else {
            say("nothing to save\n")
            return .saved
        }
        let lock: any StoreLock
        do {
            lock = try file.lock(timeout: options.lockTimeout)
        } catch {
            warn(style.error("not saved: \(error.description)"))
            return .failed
        }
        defer { lock.unlock() }
        // Checked before clearing a killed save's leftovers: those belong to whoever saved last.
        guard file.isCurrent(version) else {
            warn(style.error("not saved: \(file.path) changed on disk since it was loaded (another run or REPL saved it)."))
            return .stale
        }
        do {
            try file.recover(storeRevision: version.revision)
        } catch {
            warn(style.error("not saved: \(error.description)") + "\nYour changes are still pending.")
            return .failed
        }
        do {
            let before = version.revision
            let what = Self.count(pending, "change") + (stagedAtLoad > 0 ? " and \(stagedAtLoad) from the expiry" : "")
            version = try file.save(
                store, over: version, audit: AuditBatch(runID: AuditBatch.newRunID(), at: session.now, changes: changes))
            store.commit()
            steps.removeAll()
            restartJournal()
            stagedAtLoad = 0
            say("saved \(what) to \(file.path) (revision \(before) → \(version.revision))\n")
            return .saved
        } catch {
            warn(style.error("not saved: \(error.description)") + "\nYour changes are still pending.")
            return .failed
        }
    }

    /// After a refused save: reload the store as it is now and run this
    /// session's statements again on it (those `:undo` dropped apart), then
    /// show what is pending, for a `:save` that can land.
    func offerReplay() {
        let entries = journal.filter { !$0.undone }
        let keep = "\(Self.count(pending, "change")) still pending: :diff shows them; :reload drops them and reads the new store."
        guard editor != nil, !entries.isEmpty else { return warn(keep) }
        let question = "Reload \(file.path) and replay this session's \(Self.count(entries.count, "statement")) on it? [y/N]: "
        guard ask(question) == "y" else { return warn(keep) }
        // The journal starts again with the statements replayed, from the globals the old one started from.
        guard let now = readStoreAgain(otherwise: "\n" + keep, keepingGlobals: false) else { return }
        // The statements run again from the globals they first ran with
        // (`k = (k or 0) + 1` gives what it gave).
        if let globalsReset {
            do {
                try lua.call(globalsReset, arguments: { _ in 0 }, result: { _ in () })
                try lua.setGlobal("now", .integer(now))  // the new clock, not the kept one
            } catch {
                warn(style.error("the globals could not be put back: \(error.message)"))
            }
        }
        var failed = 0
        for entry in entries {
            say(style.dim("replaying: " + (entry.label.split(separator: "\n").first.map(String.init) ?? "")) + "\n")
            switch entry.kind {
            case .statement(let source):
                // What it printed the first time is not printed again.
                lua.holdOutput()
                if !run(source, label: entry.label, journaled: true, render: { _, _ in "" }) { failed += 1 }
                lua.releaseOutput(write: false)
            case .run(let names):
                runRules(names)
            }
        }
        if failed > 0 { warn(style.error("\(Self.count(failed, "statement")) failed on the new store (their changes are not pending)")) }
        diff()
        if pending > 0 { say(":save writes them\n") }
    }

    func reload() {
        if pending > 0 {
            guard ask("Drop \(Self.count(pending, "pending change")) and re-read \(file.path)? [y/N]: ") == "y" else {
                return say("kept the pending changes\n")
            }
        }
        guard readStoreAgain(otherwise: "", keepingGlobals: true) != nil else { return }
        if let expiredLine { say(expiredLine + "\n") }
    }

    /// Reads the store as it is now, expires it at the clock and puts it in
    /// the session in place of the old one, the steps and the journal
    /// forgotten (with `keepingGlobals`, the globals a replay would start
    /// from are those of now); returns the clock, or nil (said, with
    /// `otherwise` after) when the store can't be read.
    func readStoreAgain(otherwise: String, keepingGlobals: Bool) -> UnixTime? {
        let loaded: LoadedStore
        do {
            loaded = try file.load()
        } catch {
            warn(style.error("not reloaded: \(error.description)") + otherwise)
            return nil
        }
        let now = options.now ?? Self.clock()
        expired = Self.expire(loaded.store, at: now)
        do {
            try session.replace(store: loaded.store, now: now)
        } catch {
            warn(style.error("not reloaded: \(error.message)") + otherwise)
            return nil
        }
        version = loaded.version
        steps.removeAll()
        if keepingGlobals { restartJournal() } else { journal.removeAll() }
        stagedAtLoad = loaded.store.changes.count
        say(storeLine + "\n")
        return now
    }

    // MARK: Rules

    /// `:run [RULE…]`: the rule files (read afresh) and the rules declared at
    /// the prompt (which win over a file's rule of the same name), as one step.
    func runRules(_ names: [String]) {
        let files: [RuleFile]
        do {
            files = try RuleFile.resolve(options.rules)
        } catch {
            return warn(style.error(error.message))
        }
        let savepoint = store.savepoint()
        var loaded = RuleFilesLoad()
        var stopped: LuaError?
        let session = self.session
        let fileRules = session.declaredRules {
            do {
                loaded = try lua.interruptible { () throws(LuaError) -> RuleFilesLoad in
                    try session.load(ruleFiles: files, only: names.isEmpty ? nil : names)
                }
            } catch let error as LuaError {
                stopped = error
            } catch {
                stopped = LuaError(kind: .runtime, message: "\(error)")
            }
        }
        defer { session.release(fileRules) }
        store.actor = Self.actor
        if let stopped {
            store.rollback(to: savepoint)
            return warn(style.error("\(stopped.message): nothing was run"))
        }
        guard loaded.problems.isEmpty else {
            store.rollback(to: savepoint)
            return warn(style.error("rule files are invalid, nothing was run:") + "\n" + loaded.problems.joined(separator: "\n"))
        }
        for failure in loaded.failures {
            let what = failure.kind == "rule"
                ? "rule \(failure.rule) can't run on this store:\n" : "the top level of \(failure.object) failed (none of its rules run):\n"
            warn(style.error(what) + failure.error.report.terminalSafe(keepingLines: true))
        }
        let own = session.rules
        var rules = fileRules.filter { rule in !own.contains { $0.name == rule.name } } + own
        if !names.isEmpty {
            let failedAlone = loaded.failures.filter { $0.kind == "rule" }.map(\.rule)
            let unknown = names.filter { name in !rules.contains { $0.name == name } && !failedAlone.contains(name) }
            guard unknown.isEmpty else {
                store.rollback(to: savepoint)
                let known = rules.map(\.name).joined(separator: ", ")
                return warn(
                    style.error("no rule named \(unknown.map { "'\($0)'" }.joined(separator: ", "))")
                        + " (there are: \(known.isEmpty ? "none" : known))")
            }
            rules = rules.filter { names.contains($0.name) }
        }
        guard !rules.isEmpty else {
            return say("no rules: none in \(options.rules.joined(separator: ", ")) and none declared here\n")
        }
        let outcome = lua.interruptible { session.run(rules) }
        store.actor = Self.actor
        if outcome.failures.last?.error.kind == .interrupted {
            let made = store.changes.count - savepoint.changeCount
            store.rollback(to: savepoint)
            return warn(style.error("interrupted: the run's \(Self.count(made, "change")) rolled back"))
        }
        say(RuleStats.table(outcome.rules, style: style))
        for group in FailureGroup.group(outcome.failures) {
            warn(style.error("rule \(group.first.rule) on \(group.items): ") + group.first.error.message.terminalSafe(keepingLines: true))
        }
        let made = store.changes.count - savepoint.changeCount
        // Journaled even when it changed nothing: the files' top level may have set globals later statements use.
        let label = ":run" + names.map { " " + $0 }.joined()
        journal.append(JournalEntry(kind: .run(names), label: label))
        if made > 0 {
            steps.append(Step(savepoint: savepoint, label: label, changes: made, entry: journal.count - 1))
            say("\(Self.count(made, "change")) staged (:diff shows them, :undo drops them, :save writes them)\n")
        } else {
            say("no changes\n")
        }
    }

    // MARK: Looking

    /// `:show EXPR`: an object with all its fields, or a table in full.
    func show(_ expression: String) {
        guard !expression.isEmpty else { return warn("usage: :show EXPR (an object or a table)") }
        let reader: LuaReference
        if let fieldReader {
            reader = fieldReader
        } else {
            do {
                reader = try lua.function(Self.fieldReaderSource, chunkName: "=show")
                fieldReader = reader
            } catch {
                return warn(style.error(error.message))
            }
        }
        var full = ValuePrinter.full
        full.maxItems = 1000
        var nested = printer
        nested.maxDepth = 2
        let lua = self.lua
        // Journaled: an expression that changes something is replayed as it ran.
        run(Array(("return " + expression).utf8), label: ":show " + expression, journaled: true) { call, results in
            guard let value = results.first else { return "nil" }
            guard let info = call.objectInfo(value) else { return full.render(call, value) }
            let summary = call.objectDescription(value) ?? info.type
            do {
                return try lua.call(
                    reader,
                    arguments: { c in
                        c.pushCopy(of: value)
                        c.newTable(array: info.fields.count)
                        for (k, name) in info.fields.enumerated() {
                            c.push(name)
                            c.setIndex(k + 1)
                        }
                        return 2
                    },
                    result: { c in
                        let values = c.absolute(-1)
                        let width = info.fields.map(\.count).max() ?? 0
                        var lines = [summary]
                        for (k, name) in info.fields.enumerated() {
                            c.rawIndex(values, k + 1)
                            var line = "  " + name.padded(width) + " = " + nested.render(c, -1, indent: width + 5)
                            // Times are Unix seconds in Lua: shown with their RFC 3339 form.
                            if APIReference.plain(APIReference.shipped.fieldType(info.type, name) ?? "").hasPrefix("Time"), c.type(-1) == .number,
                                let t = try? c.integer(-1), Self.showableTimes.contains(t)
                            {
                                line += "  " + self.style.dim("-- " + RFC3339.format(t))
                            }
                            lines.append(line)
                            c.pop()
                        }
                        if !info.methods.isEmpty { lines.append("  methods: " + info.methods.map { ":" + $0 + "()" }.joined(separator: " ")) }
                        return lines.joined(separator: "\n")
                    })
            } catch {
                return summary + "\n  (fields unreadable: \(Self.message(error)))"
            }
        }
    }

    /// 0001-01-01 to 9999-12-31, the times a store holds.
    static let showableTimes: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// A Lua error's message (errors from closures arrive untyped).
    static func message(_ error: any Error) -> String {
        (error as? LuaError)?.message ?? String(describing: error)
    }

    /// Reads the named fields of an object, in order (runs protected: a field may refuse).
    /// Takes a shallow copy of the globals; returns the function that puts
    /// them back (the ones added since removed).
    static let globalsKeeperSource = """
        local next, rawset, G = next, rawset, _G
        local kept = {}
        for k, v in next, G do kept[k] = v end
        return function()
          for k in next, G do
            if kept[k] == nil then rawset(G, k, nil) end
          end
          for k, v in next, kept do rawset(G, k, v) end
        end
        """

    /// Keeps the globals as they are now, for a replay (`globalsReset`).
    func keepGlobals() {
        if let globalsReset { lua.release(globalsReset) }
        globalsReset = try? lua.function(Self.globalsKeeperSource, chunkName: "=replay")
    }

    /// The journal starts again (after a save or a reload), and so do the
    /// globals a replay would start from: those of this moment.
    func restartJournal() {
        journal.removeAll()
        keepGlobals()
    }

    static let fieldReaderSource = """
        return function(object, names)
          local values = {}
          for i = 1, #names do values[i] = object[names[i]] end
          return values
        end
        """
}
