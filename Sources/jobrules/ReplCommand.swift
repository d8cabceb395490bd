import ArgumentParser
import Foundation
import REPL

/// `jobrules repl`: the store at a Lua prompt; changes are staged until `:save`.
struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "Explore and change the store at a Lua prompt; nothing is written until :save.",
        discussion: """
            At a terminal: an expression prints its value, a statement runs (one statement may span \
            lines), Tab completes globals, table keys and the fields and methods of objects, and \
            :help lists the commands and the API. Every change is staged: the prompt counts them, \
            :diff shows them, :undo drops the last statement's, :save writes them (refused if the \
            store changed on disk meanwhile). Ctrl-C clears the line, or stops the running \
            statement and rolls back its changes. History is kept in ~/.jobrules_history \
            (JOBRULES_HISTORY names another file; empty: none).

            Not at a terminal, standard input is run as one script (like `lua -`): no prompt, no \
            colour, nothing saved. Exit status: 0; 1 when that script raised an error; 2 when the \
            store can't be read.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp("Where :run reads rules: files, or directories of .lua files (default: rules).", valueName: "DIR|FILE"))
    var rules: [String] = []

    @OptionGroup var limitOptions: LimitOptions

    func run() throws {
        let interactive = isatty(0) == 1
        let options = REPLOptions(
            store: storeOptions.store, now: storeOptions.fixedClock, limits: try limitOptions.limits(),
            rules: rules.isEmpty ? ["rules"] : rules, lockTimeout: storeOptions.lockTimeout,
            history: interactive ? Self.historyPath : nil,
            color: interactive && isatty(1) == 1 && !Terminal.noColor && !Terminal.isDumb)
        let repl: REPL
        do {
            repl = try REPL(options: options)
        } catch {
            throw UsageError(error.description)
        }
        defer { repl.close() }
        let status: Int32
        if interactive {
            status = repl.interact()
        } else {
            status = repl.runScript(Array(FileHandle.standardInput.readDataToEndOfFile()))
        }
        if status != 0 { throw ExitStatus.failure }
    }

    /// `JOBRULES_HISTORY` (empty: no history), else `~/.jobrules_history`.
    static var historyPath: String? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["JOBRULES_HISTORY"] { return path.isEmpty ? nil : path }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return (home.hasSuffix("/") ? home : home + "/") + ".jobrules_history"
    }
}
