import ArgumentParser
import Foundation
import LuaHost
import Marketplace
import RuleEngine

/// `jobrules check`: compiles and validates rule files, for an agency's CI.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Compile every rule file and validate every rule declaration.",
        discussion: """
            Each file's top level runs in the sandbox against an empty store (or the store given \
            with --store, read only), so that its rule{…} declarations are checked: unique names, \
            `on` known, `run` a function, `where` a filter table or a function, filter fields and \
            values known. Every problem is reported with its file.lua:LINE.

            A runtime error at a file's top level (a run fails that file's rules alone) is a \
            warning against the empty store, where it may come from the store being empty, and \
            an error against --store.

            Exit status: 0 when all is well; 1 when a file's top level fails against --store; 2 \
            when there is a syntax error or an invalid declaration.
            """
    )

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp("Rule files, or directories of .lua files (default: rules).", valueName: "DIR|FILE"))
    var rules: [String] = []

    @Option(help: ArgumentHelp("A store to run the files' top level against (read only).", valueName: "FILE"))
    var store: String?

    @OptionGroup var limitOptions: LimitOptions

    func run() throws {
        let files = try RuleFile.resolved(rules)
        let data: Store
        if let store {
            do {
                data = try JSONStoreFile(path: store, holding: .map).load().store
            } catch {
                throw error.asUsageError
            }
        } else {
            data = Store(
                agency: Agency(
                    name: "", services: [],
                    preferences: Preferences(
                        available: true, listedInSearch: true, worksWithDropshippers: false, notificationEmail: "")))
        }
        let session: Session
        do {
            // What top-level code prints is not the checker's output.
            session = try Session(store: data, now: 0, limits: try limitOptions.limits(), output: { _ in })
        } catch let error as LuaError {
            throw UsageError(error.message)
        }
        defer { session.close() }
        // Against the empty store, no id is known: filters' ids are checked with --store.
        session.checksFilterIDs = store != nil
        let loaded: RuleFilesLoad
        do {
            loaded = try session.load(ruleFiles: files)
        } catch {
            throw UsageError(error.message)
        }
        let problems = loaded.problems
        // A top level that raises fails its file's rules in a run. Against the
        // empty store that may be the store's emptiness (no lead to write a
        // digest to): a warning; against a real store it is what a run would do.
        for failure in loaded.failures {
            let message = failure.error.report.terminalSafe(keepingLines: true)
            if store == nil {
                printError(
                    "warning: \(message)\n  (the top level of \(failure.object) raised against an empty store; "
                        + "declarations after that line were not checked: `check --store STORE` runs it against real data)")
            } else {
                let fails = failure.kind == "rule" ? "rule \(failure.rule); the other rules run" : "the rules of \(failure.object); the other files run"
                printError("\(message)\n  (a run on this store fails \(fails))")
            }
        }
        if problems.isEmpty {
            let count = session.rules.count
            let failing = store != nil && !loaded.failures.isEmpty
            let summary = "\(count) rule\(count == 1 ? "" : "s") in \(files.count) file\(files.count == 1 ? "" : "s")"
            let files = loaded.failures.filter { $0.kind == "file" }.count
            let rules = loaded.failures.count - files
            let fails = [files > 0 ? "the top level of \(files) file\(files == 1 ? "" : "s")" : nil, rules > 0 ? "\(rules) rule\(rules == 1 ? "" : "s")" : nil]
                .compactMap { $0 }.joined(separator: " and ")
            print(failing ? "\(summary); \(fails) fail\(files + rules == 1 ? "s" : "") on this store" : "ok: \(summary)")
            for rule in session.rules {
                print("  \(rule.name.terminalSafe().padded(28)) on \(rule.collection.rawValue.padded(6))  \(rule.position.map(\.description) ?? "")")
            }
            if store != nil, !loaded.failures.isEmpty { throw ExitStatus.failure }
            return
        }
        print(problems.joined(separator: "\n").terminalSafe(keepingLines: true))
        printError("jobrules: \(problems.count) problem\(problems.count == 1 ? "" : "s") in the rule files")
        throw ExitStatus.invalidInput
    }
}
