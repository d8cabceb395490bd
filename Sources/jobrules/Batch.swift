import Foundation
import LuaHost
import Marketplace
import RuleEngine

/// One locked load-modify-save of the store, without Lua (`import`), and the
/// base of a batch: lock, load (validating everything), clear a killed save's
/// leftovers, apply expiry. The lock is held until it is released.
final class LockedStore {
    let file: JSONStoreFile
    let lock: any StoreLock
    let loaded: LoadedStore
    let now: UnixTime
    let dryRun: Bool
    /// Jobs expired by this batch, before anything else changed the store.
    let expired: [String]
    /// The changes of that expiry.
    let changesAtLoad: Int
    /// Wall seconds of each step so far: waiting for the lock, loading (with
    /// expiry), running the rules, saving.
    var seconds = StepSeconds()

    init(options: StoreOptions, dryRun: Bool, deadline: RunDeadline = RunDeadline(nil)) throws {
        file = options.file
        now = options.clock
        self.dryRun = dryRun
        self.deadline = deadline
        var mark = monotonicSeconds()
        do {
            try file.checkKind()
            lock = try file.lock(timeout: options.lockTimeout)
        } catch {
            throw error.asUsageError
        }
        seconds.lock = seconds.lap(&mark)
        do {
            loaded = try file.load()
        } catch {
            lock.unlock()
            throw error.asUsageError
        }
        do {
            try file.recover(storeRevision: loaded.version.revision, clearing: !dryRun)
        } catch {
            lock.unlock()
            throw error.asUsageError
        }
        let store = loaded.store
        store.actor = "expiry"
        expired = store.expireDueJobs(at: now).map { store.jobs[$0].id }
        changesAtLoad = store.changes.count
        seconds.load = seconds.lap(&mark)
        do {
            try deadline.check("loading the store")
        } catch {
            lock.unlock()
            throw error
        }
    }

    /// The command's `--max-run-time`.
    let deadline: RunDeadline

    var store: Store { loaded.store }
    var revision: Int64 { loaded.version.revision }

    /// Saves every change (unless dry); returns the new revision, or the old
    /// one when nothing was written.
    func save() throws -> Int64 {
        guard !dryRun, !store.changes.isEmpty else { return revision }
        try deadline.check("about to save")
        var mark = monotonicSeconds()
        defer { seconds.save = seconds.lap(&mark) }
        do {
            let saved = try file.save(
                store, over: loaded.version,
                audit: AuditBatch(runID: AuditBatch.newRunID(), at: now, changes: store.changes))
            // Kept, as the store is: the report still holds the changes, and
            // freeing them one by one at the end of the command took 0.15 s.
            KeptUntilExit.keep(store.commit())
            return saved.revision
        } catch {
            throw error.asUsageError
        }
    }

    /// Lets the lock go. The store itself stays in memory until the process
    /// exits (`KeptUntilExit`).
    func release() {
        lock.unlock()
        KeptUntilExit.keep(self)
    }
}

/// A locked store with a Lua session bound to it, shared by `run` and `exec`.
final class Batch {
    let locked: LockedStore
    let session: Session

    /// `output` receives what scripts `print`.
    init(
        options: StoreOptions, limits: LuaLimits, dryRun: Bool, deadline: RunDeadline,
        output: @escaping (UnsafeRawBufferPointer) -> Void = LuaState.standardOutput
    ) throws {
        locked = try LockedStore(options: options, dryRun: dryRun, deadline: deadline)
        var mark = monotonicSeconds()
        do {
            session = try Session(store: locked.store, now: locked.now, limits: limits, output: output)
            session.keepsRunUndo = false
            session.lua.deadline = deadline.nanoseconds
        } catch {
            locked.release()
            throw UsageError(error.message)
        }
        locked.seconds.load += locked.seconds.lap(&mark)
    }

    var store: Store { session.store }
    var file: JSONStoreFile { locked.file }
    var now: UnixTime { locked.now }
    var dryRun: Bool { locked.dryRun }
    var revision: Int64 { locked.revision }
    var expired: [String] { locked.expired }
    var seconds: StepSeconds {
        get { locked.seconds }
        set { locked.seconds = newValue }
    }

    func save() throws -> Int64 { try locked.save() }

    /// Lets the lock go, then closes the session: whatever closing a VM
    /// takes, it never holds up another process.
    func release() {
        locked.release()
        session.close()
    }

    /// Runs the rule files' top level (declaring their rules): `Session.load(ruleFiles:only:)`.
    func load(ruleFiles: [RuleFile], only: [String]? = nil) throws -> RuleFilesLoad {
        do {
            return try session.load(ruleFiles: ruleFiles, only: only)
        } catch {
            // `load` throws only what stops everything: the deadline, or an interrupt.
            guard error.kind == .deadline else { throw UsageError("\(error.message): nothing was run or written") }
            throw locked.deadline.error("running the top level of the rule files")
        }
    }
}

extension RuleFile {
    /// The rule files of `--rules` (default: the `rules` directory); a problem is a usage error.
    static func resolved(_ paths: [String]) throws -> [RuleFile] {
        do {
            return try resolve(paths.isEmpty ? ["rules"] : paths)
        } catch {
            let missingDefault = paths.isEmpty && !FileManager.default.fileExists(atPath: "rules")
            throw UsageError(error.message + (missingDefault ? " (`jobrules init` writes the shipped rules there)" : ""))
        }
    }
}

/// What the process keeps until it exits. Freeing a loaded store object by
/// object (every job, message and string) took about a tenth of a batch on
/// 100 000 jobs; the exit gives all of its memory back at once.
/// Commands run on the main thread only; the objects kept are never read.
enum KeptUntilExit {
    nonisolated(unsafe) private static var kept: [Any] = []

    static func keep(_ batch: LockedStore) { kept.append(batch) }
    static func keep(_ feed: ImportFeed) { kept.append(feed) }
    static func keep(_ committed: Store.Committed) { kept.append(committed) }
}

/// When a command must stop (`--max-run-time`, counted from its start).
struct RunDeadline {
    /// The option as given (`30m`), for messages.
    let limit: String?
    /// On `monotonicSeconds`'s clock.
    let at: Double?

    init(_ limit: Duration?, given: String? = nil) {
        self.limit = limit.map { _ in given ?? "" }
        at = limit.map { monotonicSeconds() + Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
    }

    /// On `LuaState.monotonicNanoseconds`'s clock (the same clock).
    var nanoseconds: Int64? { at.map { Int64(($0 * 1e9).rounded(.down)) } }

    var passed: Bool { at.map { monotonicSeconds() >= $0 } ?? false }

    /// The refusal once it has passed, `doing` what.
    func error(_ doing: String) -> UsageError {
        UsageError("stopped by --max-run-time \(limit ?? "") \(doing): nothing was written")
    }

    func check(_ doing: String) throws {
        if passed { throw error(doing) }
    }
}

/// Wall seconds of a batch's steps (0 for a step not taken).
struct StepSeconds {
    var lock = 0.0
    var load = 0.0
    var rules = 0.0
    var save = 0.0

    /// Seconds since `mark`, which moves to now.
    func lap(_ mark: inout Double) -> Double {
        let now = monotonicSeconds()
        defer { mark = now }
        return now - mark
    }
}
