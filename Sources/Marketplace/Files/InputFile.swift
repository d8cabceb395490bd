#if canImport(Glibc)
import Glibc
#endif

/// A file a user names as input — a script, a rule file, a feed of events —
/// read whole: a regular file, or anything else that reads to an end (a
/// pipe, `/dev/stdin`, `/dev/null`). A directory is refused.
public enum InputFile {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot read '\(path)': \(reason)" }
    }

    /// Reads `path` whole, refusing more than `limit` bytes (`/dev/zero`
    /// would otherwise be read until memory runs out).
    public static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        if st.st_mode & S_IFMT == S_IFDIR { throw Failure(path: path, reason: "it is a directory") }
        return try read(fd: fd, name: path, limit: limit, sizeHint: st.st_mode & S_IFMT == S_IFREG ? Int(st.st_size) : 0)
    }

    /// Reads an open file (standard input) to its end, at most `limit` bytes.
    public static func read(fd: Int32, name: String, limit: Int, sizeHint: Int = 0) throws(Failure) -> [UInt8] {
        var bytes: [UInt8] = []
        if sizeHint > 0 { bytes.reserveCapacity(min(sizeHint, limit) + 1) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(path: name, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            guard bytes.count + n <= limit else {
                throw Failure(path: name, reason: "it holds more than \(limit >> 20) MiB, the most jobrules reads")
            }
            bytes += buffer[0..<n]
        }
        return bytes
    }

    /// What `path` is when it is not a regular file (following links), or
    /// nil: a regular file, or nothing there.
    public static func kind(of path: String) -> FileKind? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG else { return nil }
        return FileKind(st.st_mode)
    }
}
