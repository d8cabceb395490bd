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
        case .cutShort(let path):
            return "'\(path)' was cut short on disk while it was being read (another program wrote over it in place): "
                + "nothing was saved; replace store files with a rename (mv), never in place, and run again"
        }
    }
}
