import ArgumentParser
import Foundation
import LuaHost

/// `jobrules exec SCRIPT.lua`: runs a script in the sandbox.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a Lua script in the sandbox.",
        discussion: """
            The script runs with the sandboxed standard library (string, table, math, utf8, \
            coroutine, os.time/clock/date/difftime) and print. Exit status: 0 when it ran, \
            1 when it raised an error or hit a limit, 2 when it could not be started.
            """
    )

    @Argument(help: ArgumentHelp("The Lua script to run.", valueName: "SCRIPT.lua"))
    var script: String

    @OptionGroup var limitOptions: LimitOptions

    func run() throws {
        let source: Data
        do {
            source = try Data(contentsOf: URL(fileURLWithPath: script))
        } catch {
            throw UsageError("cannot read '\(script)': \(Self.reason(error))")
        }
        let lua: LuaState
        do {
            lua = try LuaState(limits: try limitOptions.limits())
        } catch let error as LuaError {
            throw UsageError(error.message)
        }
        defer { lua.close() }
        do {
            try lua.execute(bytes: Array(source), chunkName: "@" + script)
        } catch {
            printError("jobrules: " + error.report)
            throw ExitStatus.failure
        }
    }

    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
            let code = POSIXErrorCode(rawValue: Int32(underlying.code))
        {
            return String(cString: strerror(code.rawValue))
        }
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError {
            return "No such file or directory"
        }
        return nsError.localizedDescription
    }
}
