#if canImport(Glibc)
import Glibc
#endif

/// Why a store could not be read, locked or written. Every case leaves the
/// store on disk as it was.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(path: String)
    /// A system call failed: what was being done, to which file, and errno.
    case io(path: String, doing: String, errno: Int32)
    case invalid(path: String, StoreDecodingError)
    /// Another process holds the store's lock.
    case locked(path: String, holder: String?, waited: Double)
    /// The file changed on disk after it was loaded: saving would lose that change.
    case stale(path: String)
    /// `init` refuses to overwrite a store.
    case exists(path: String)
    /// Another program shortened the file in place while it was mapped (the
    /// bus-error guard's message: the process stops, nothing is written).
    case cutShort(path: String)
    /// The store, its lock file or its audit log is not a regular file.
    case notAFile(path: String, kind: FileKind)
    /// The store's revision is below its audit log's: put back from an
    /// older copy. Writing would mix two histories in one log.
    case restored(path: String, storeRevision: Int64, auditRevision: Int64)
    /// A killed save's audit lines are followed by lines it didn't write:
    /// nothing is removed, nothing written.
    case unfinishedSaveMixed(path: String, revision: Int64)

    public var description: String {
        switch self {
        case .notFound(let path):
            return "no store at '\(path)' (create one with `jobrules init --store \(path)`)"
        case .io(let path, let doing, let code):
            return "cannot \(doing) '\(path)': \(String(cString: strerror(code)))"
        case .invalid(let path, .syntax(let line, let column, let message)):
            return "\(path):\(line):\(column): invalid JSON: \(message)"
        case .invalid(let path, .invalid(let problems, let more)):
            let count = problems.count
            var text = "\(path) is not a valid store (\(count)\(more ? "+" : "") problem\(count == 1 && !more ? "" : "s")):"
            for p in problems { text += "\n  \(p)" }
            if more { text += "\n  … stopped after \(count) problems" }
            return text
        case .locked(let path, let holder, let waited):
            let who = holder.map { " (held by \($0))" } ?? ""
            return "'\(path)' is locked by another jobrules process\(who); gave up after \(waited) s"
        case .stale(let path):
            return "'\(path)' changed on disk since it was loaded (another run saved it): nothing was saved; reload and apply the changes again"
        case .exists(let path):
            return "'\(path)' already exists: jobrules init never overwrites a store"
        case .notAFile(let path, let kind):
            return "'\(path)' is \(kind.description), not a regular file: jobrules reads and writes store files only"
        case .restored(let path, let storeRevision, let auditRevision):
            let log = path + ".audit.jsonl"
            return "'\(path)' is at revision \(storeRevision) but its audit log '\(log)' goes up to revision \(auditRevision): "
                + "the store was put back from an older copy (or the log belongs to another store). Nothing was written, "
                + "so that the log keeps the history the store no longer has. To go on from this store, move the log aside "
                + "(mv '\(log)' '\(path).audit-until-r\(auditRevision).jsonl'): the next run starts a new one."
        case .unfinishedSaveMixed(let path, let revision):
            return "'\(path)': a save of revision \(revision) was killed before it landed, and its audit lines are followed by "
                + "lines jobrules didn't write: nothing was removed or written. Check the end of the log by hand."
        case .cutShort(let path):
            return "'\(path)' was cut short on disk while it was being read (another program wrote over it in place): "
                + "nothing was saved; replace store files with a rename (mv), never in place, and run again"
        }
    }
}

/// What a path names, for messages.
public enum FileKind: Sendable, Equatable, CustomStringConvertible {
    case directory, fifo, characterDevice, blockDevice, socket, symbolicLink, other

    public init(_ mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFSOCK: self = .socket
        case S_IFLNK: self = .symbolicLink
        default: self = .other
        }
    }

    public var description: String {
        switch self {
        case .directory: "a directory"
        case .fifo: "a FIFO"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .socket: "a socket"
        case .symbolicLink: "a symbolic link"
        case .other: "not a regular file"
        }
    }
}
