import CLuaShim
import Foundation
import LuaHost
import Marketplace
import RuleEngine

/// What `jobrules repl` is started with.
public struct REPLOptions: Sendable {
    public var store: String
    /// The clock (`--now`); nil: the real clock, read at start and at each `:reload`.
    public var now: UnixTime?
    public var limits: LuaLimits
    /// Where `:run` reads rule files from.
    public var rules: [String]
    public var lockTimeout: Double
    /// The history file; nil: no history kept.
    public var history: String?
    public var historySize: Int
    public var color: Bool

    public init(
        store: String, now: UnixTime?, limits: LuaLimits, rules: [String], lockTimeout: Double, history: String?,
        historySize: Int = 1000, color: Bool
    ) {
        self.store = store
        self.now = now
        self.limits = limits
        self.rules = rules
        self.lockTimeout = lockTimeout
        self.history = history
        self.historySize = historySize
        self.color = color
    }
}

/// A REPL that can't start: the store can't be read, the VM can't be built.
public struct REPLError: Error, CustomStringConvertible {
    public let description: String
}

/// The interactive session over a store: Lua statements run against it, every
/// change stays staged (in memory) until `:save`, each statement is one step
/// that `:undo` drops and that an error or Ctrl-C rolls back whole.
public final class REPL {
    /// A statement that changed something, for `:undo`.
    struct Step {
        let savepoint: Store.Savepoint
        let label: String
        let changes: Int
        /// Its entry in `journal`.
        var entry: Int?
    }

    /// What was typed since the store was loaded or saved, in order: what a
    /// refused `:save` replays on the store that is on disk now.
    struct JournalEntry {
        enum Kind {
            case statement([UInt8])
            case run([String])
        }
        let kind: Kind
        let label: String
        /// `:undo` dropped it.
        var undone = false
    }

    let options: REPLOptions
    let file: JSONStoreFile
    /// The version on disk the staged changes apply to.
    var version: StoreVersion
    var session: Session
    var steps: [Step] = []
    var journal: [JournalEntry] = []
    var expired: [String]
    /// Changes staged by loading (expiry), before any statement: saved with
    /// the rest, but not counted as the user's pending changes.
    var stagedAtLoad = 0
    let style: TextStyle
    let printer = ValuePrinter()
    var editor: LineEditor?
    /// The function `:show` reads an object's fields with.
    var fieldReader: LuaReference?
    /// Puts the globals back as they were when the prompt first showed
    /// (`keepGlobals`): a replay runs the statements on the state they first ran on.
    var globalsReset: LuaReference?

    public init(options: REPLOptions) throws(REPLError) {
        self.options = options
        file = JSONStoreFile(path: options.store)
        style = TextStyle(color: options.color)
        let now = options.now ?? Self.clock()
        let loaded: LoadedStore
        do {
            loaded = try file.load()
        } catch {
            throw REPLError(description: error.description)
        }
        version = loaded.version
        expired = Self.expire(loaded.store, at: now)
        do {
            session = try Session(store: loaded.store, now: now, limits: options.limits)
        } catch {
            throw REPLError(description: error.message)
        }
        session.redeclaresRules = true
        stagedAtLoad = loaded.store.changes.count
    }

    /// Every change typed at the prompt is recorded with this actor.
    static let actor = "repl"

    static func clock() -> UnixTime { UnixTime(Date().timeIntervalSince1970) }

    /// Expiry as every command applies it, before anything else sees the store (staged like any change).
    static func expire(_ store: Store, at now: UnixTime) -> [String] {
        store.actor = "expiry"
        let expired = store.expireDueJobs(at: now).map { store.jobs[$0].id }
        store.actor = actor
        return expired
    }

    var store: Store { session.store }
    /// Changes made at the prompt and not saved yet.
    var pending: Int { store.changes.count - stagedAtLoad }
    var lua: LuaState { session.lua }

    /// Closes the VM.
    public func close() {
        if let fieldReader { lua.release(fieldReader) }
        if let globalsReset { lua.release(globalsReset) }
        session.close()
    }

    // MARK: Input, as lua.c reads it

    /// Whether `source` is a complete chunk: nil when it compiles, else the
    /// syntax error, and whether it only lacks more lines (ends at `<eof>`).
    func syntax(_ source: String) -> (error: LuaError, incomplete: Bool)? {
        do {
            try lua.compile(source, chunkName: Self.chunk)
            return nil
        } catch {
            return (error, error.message.hasSuffix("<eof>"))
        }
    }

    /// Chunks typed at the prompt are named `stdin`, as in Lua's own REPL.
    static let chunk = "=stdin"

    /// The chunk to run for `text`: `=expr` and a bare expression are returned
    /// (so their values print); a statement is run as it is. Nil when more
    /// lines are needed.
    func chunk(for text: String) -> String? {
        let body = text.hasPrefix("=") ? String(text.dropFirst()) : text
        let expression = "return " + body
        if syntax(expression) == nil { return expression }
        if let problem = syntax(body), problem.incomplete { return nil }
        return body
    }

    // MARK: Running statements

    /// Runs one chunk as one step: interruptible with Ctrl-C, rolled back
    /// whole on an error. `render` turns its results into text (on the stack).
    /// `journaled`: a statement typed at the prompt, kept for a replay.
    @discardableResult
    func run(_ source: [UInt8], label: String, journaled: Bool = false, render: ((LuaCall, [Int32]) -> String)? = nil) -> Bool {
        let savepoint = store.savepoint()
        store.actor = Self.actor
        let render = render ?? { [printer] call, results in
            let values = results.map { printer.render(call, $0) }
            return values.contains { $0.contains("\n") } ? values.joined(separator: "\n") : values.joined(separator: "\t")
        }
        do {
            let lua = self.lua
            let text = try lua.interruptible { () throws(LuaError) -> String in
                try lua.execute(bytes: source, chunkName: Self.chunk, inspect: render)
            }
            if !text.isEmpty { say(text + "\n") }
            let made = store.changes.count - savepoint.changeCount
            if journaled { journal.append(JournalEntry(kind: .statement(source), label: label)) }
            if made > 0 { steps.append(Step(savepoint: savepoint, label: label, changes: made, entry: journaled ? journal.count - 1 : nil)) }
            return true
        } catch {
            let made = store.changes.count - savepoint.changeCount
            store.rollback(to: savepoint)
            // At a terminal the `^C` echoed by the terminal ends the line first.
            var message = (editor != nil && error.kind == .interrupted ? "\n" : "") + error.message
            if made > 0 { message += " (\(Self.count(made, "change")) of this statement rolled back)" }
            warn(style.error(message))
            return false
        }
    }

    // MARK: Output

    /// To standard output, in order with Lua's `print` (both go through C's stdout).
    func say(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = fwrite(bytes.baseAddress, 1, bytes.count, jr_stdout()) }
    }

    /// To standard error, after what was said so far.
    func warn(_ text: String) {
        fflush(nil)
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    /// `store.json: revision 12 · 10000 jobs · 300 orders · now 2026-11-21T09:30:00Z`
    var storeLine: String {
        "\(file.path): revision \(version.revision) · \(Self.count(store.jobs.count, "job")) · "
            + "\(Self.count(store.orders.count, "order")) · now \(RFC3339.format(session.now))"
    }

    var expiredLine: String? {
        guard !expired.isEmpty else { return nil }
        let ids = expired.count <= 5 ? expired.joined(separator: ", ") : expired.prefix(5).joined(separator: ", ") + ", …"
        return "\(Self.count(expired.count, "job")) expired as of now (\(ids)): written with your next :save"
    }
}
