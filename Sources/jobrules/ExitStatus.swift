import ArgumentParser
import Foundation
import Marketplace
import Synchronization

/// The exit codes of every command, in one place.
enum ExitStatus {
    /// Everything ran.
    static let success = ExitCode(0)
    /// A script or a rule failed (the others' work is kept).
    static let failure = ExitCode(1)
    /// Nothing was done: bad arguments, a missing or invalid file.
    static let invalidInput = ExitCode(2)
}

/// An error that stops a command before anything was done; exit 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writes a line to standard error, after flushing what was printed. The
/// text may hold data (ids, names, a feed's values): its control characters
/// but newlines and tabs are shown escaped.
func printError(_ text: String) {
    fflush(nil)
    FileHandle.standardError.write(Data((text.terminalSafe(keepingLines: true) + "\n").utf8))
}

/// `--json`: standard output holds one JSON document whatever happens.
/// A command prints its report through `print(_:)`; when it can't get that
/// far (a missing store, a bad rule file, a bad argument) the document is
/// the error.
enum JSONReport {
    /// The commands that take `--json`.
    static let commands: Set<String> = ["run", "import"]
    /// Whether `--json` was given to a command that takes it, and whether its document was printed.
    private static let state = Mutex((requested: false, printed: false))

    static func note(_ arguments: [String]) {
        let options = arguments.prefix { $0 != "--" }
        let requested = options.first.map(commands.contains) == true && options.contains("--json")
        state.withLock { $0.requested = requested }
    }

    static func print(_ report: String) {
        state.withLock { $0.printed = true }
        Swift.print(report, terminator: "")
    }

    /// The error as the document, unless a report was printed.
    static func error(_ message: String, exit: Int32, arguments: [String]) {
        let due = state.withLock { state -> Bool in
            guard state.requested, !state.printed else { return false }
            state.printed = true
            return true
        }
        guard due else { return }
        let document = ChangeValue.object([
            ("command", .string(arguments.first ?? "")), ("exit", .int(Int64(exit))), ("error", .string(message)),
        ])
        Swift.print(document.description)
        fflush(nil)
    }
}

/// Runs the root command and maps every outcome to one exit code.
func runJobRules(_ arguments: [String]) -> Never {
    JSONReport.note(arguments)
    do {
        var command = try JobRules.parseAsRoot(arguments)
        try command.run()
        fflush(nil)
        exit(ExitStatus.success.rawValue)
    } catch let usage as UsageError {
        JSONReport.error(usage.description, exit: ExitStatus.invalidInput.rawValue, arguments: arguments)
        printError("jobrules: \(usage.description)")
        exit(ExitStatus.invalidInput.rawValue)
    } catch {
        fflush(nil)
        let code = JobRules.exitCode(for: error)
        if code == .success {
            // --help and --version
            print(JobRules.fullMessage(for: error))
            exit(0)
        }
        if let exitCode = error as? ExitCode {
            JSONReport.error("exit status \(exitCode.rawValue)", exit: exitCode.rawValue, arguments: arguments)
            exit(exitCode.rawValue)
        }
        // Parsing and validation errors: ArgumentParser's text, our exit code.
        JSONReport.error(JobRules.message(for: error), exit: ExitStatus.invalidInput.rawValue, arguments: arguments)
        printError(JobRules.fullMessage(for: error))
        exit(ExitStatus.invalidInput.rawValue)
    }
}
