import ArgumentParser
import Foundation
import Marketplace

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

/// Runs the root command and maps every outcome to one exit code.
func runJobRules(_ arguments: [String]) -> Never {
    do {
        var command = try JobRules.parseAsRoot(arguments)
        try command.run()
        fflush(nil)
        exit(ExitStatus.success.rawValue)
    } catch let usage as UsageError {
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
            exit(exitCode.rawValue)
        }
        // Parsing and validation errors: ArgumentParser's text, our exit code.
        printError(JobRules.fullMessage(for: error))
        exit(ExitStatus.invalidInput.rawValue)
    }
}
