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

            Exit status: 0 when all is well; 2 when there is any problem.
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
        session.collectsProblems = true
        var problems: [String] = []
        for file in files {
            let before = session.problems.count
            var failure: String?
            do {
                try session.run(file: file.path, source: file.source)
            } catch {
                failure = error.message
            }
            problems.append(contentsOf: session.problems[before...].map(\.description))
            if let failure { problems.append(failure) }
        }
        if problems.isEmpty {
            let count = session.rules.count
            print("ok: \(count) rule\(count == 1 ? "" : "s") in \(files.count) file\(files.count == 1 ? "" : "s")")
            for rule in session.rules {
                print("  \(rule.name.terminalSafe().padded(28)) on \(rule.collection.rawValue.padded(6))  \(rule.position.map(\.description) ?? "")")
            }
            return
        }
        print(problems.joined(separator: "\n").terminalSafe(keepingLines: true))
        printError("jobrules: \(problems.count) problem\(problems.count == 1 ? "" : "s") in the rule files")
        throw ExitStatus.invalidInput
    }
}
