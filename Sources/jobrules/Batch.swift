import Foundation
import LuaHost
import Marketplace
import RuleEngine

/// One locked load-modify-save of the store, shared by `run` and `exec`:
/// lock, load (validating everything), clear a killed save's leftovers, apply
/// expiry, and bind a Lua session to the store. The lock is held until the
/// batch is released.
final class Batch {
    let file: JSONStoreFile
    let lock: any StoreLock
    let loaded: LoadedStore
    let now: UnixTime
    let dryRun: Bool
    let session: Session
    /// Jobs expired by this batch, before any rule ran.
    let expired: [String]

    init(options: StoreOptions, limits: LuaLimits, dryRun: Bool) throws {
        file = options.file
        now = options.clock
        self.dryRun = dryRun
        do {
            lock = try file.lock(timeout: options.lockTimeout)
        } catch {
            throw error.asUsageError
        }
        do {
            loaded = try file.load()
        } catch {
            lock.unlock()
            throw error.asUsageError
        }
        if !dryRun { file.recover(storeRevision: loaded.version.revision) }
        let store = loaded.store
        store.actor = "expiry"
        expired = store.expireDueJobs(at: now).map { store.jobs[$0].id }
        do {
            session = try Session(store: store, now: now, limits: limits)
        } catch {
            lock.unlock()
            throw UsageError(error.message)
        }
    }

    var store: Store { session.store }
    var revision: Int64 { loaded.version.revision }

    /// Saves every change (unless dry); returns the new revision, or the old
    /// one when nothing was written.
    func save() throws -> Int64 {
        guard !dryRun, !store.changes.isEmpty else { return revision }
        do {
            let saved = try file.save(
                store, over: loaded.version,
                audit: AuditBatch(runID: AuditBatch.newRunID(), at: now, changes: store.changes))
            store.commit()
            return saved.revision
        } catch {
            throw error.asUsageError
        }
    }

    /// Closes the session and lets the lock go.
    func release() {
        session.close()
        lock.unlock()
    }

    /// Runs the rule files' top level (declaring their rules); every problem
    /// with its `file:LINE`. Changes made at a file's top level are the file's.
    func load(ruleFiles: [RuleFile]) -> [String] {
        var problems: [String] = []
        for file in ruleFiles {
            store.actor = "file:" + file.path
            do {
                try session.run(file: file.path, source: file.source)
            } catch {
                problems.append(error.message)
            }
        }
        return problems
    }
}

/// A rule file, read.
struct RuleFile {
    let path: String
    let source: [UInt8]

    /// The `.lua` files of `paths`: a directory gives its own `.lua` files in
    /// name order (byte order); a file is taken as it is.
    static func resolve(_ paths: [String]) throws -> [RuleFile] {
        var files: [RuleFile] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw UsageError("no rule file or directory '\(path)'")
            }
            var names: [String]
            if isDirectory.boolValue {
                do {
                    names = try manager.contentsOfDirectory(atPath: path)
                } catch {
                    throw UsageError("cannot list '\(path)': \(fileErrorReason(error))")
                }
                names = names.filter { $0.hasSuffix(".lua") && !$0.hasPrefix(".") }
                    .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                    .map { (path.hasSuffix("/") ? path : path + "/") + $0 }
            } else {
                names = [path]
            }
            for name in names {
                do {
                    files.append(RuleFile(path: name, source: Array(try Data(contentsOf: URL(fileURLWithPath: name)))))
                } catch {
                    throw UsageError("cannot read '\(name)': \(fileErrorReason(error))")
                }
            }
        }
        return files
    }
}
