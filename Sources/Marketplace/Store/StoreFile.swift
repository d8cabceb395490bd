import CSystem
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Where a store lives: loaded whole, changed in memory, saved whole.
///
/// The Lua API and the rules see only `Store`; a database backend (SQLite,
/// PostgreSQL) implements this protocol in place of the JSON file.
public protocol StoreBackend {
    /// Takes the store's write lock, waiting up to `timeout` seconds.
    func lock(timeout: Double) throws(StoreError) -> any StoreLock
    /// Reads and validates the store.
    func load() throws(StoreError) -> LoadedStore
    /// Writes `store` as revision `loaded.revision + 1` with its audit entries,
    /// refusing if the store changed since `loaded`. Needs the lock.
    func save(_ store: Store, over loaded: StoreVersion, audit: AuditBatch) throws(StoreError) -> StoreVersion
}

public protocol StoreLock: AnyObject {
    func unlock()
}

/// What identifies the stored version a session started from.
public struct StoreVersion: Sendable, Equatable {
    public let revision: Int64
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64
}

public struct LoadedStore {
    public let store: Store
    public let version: StoreVersion
}

/// The changes of one save, for the audit log.
public struct AuditBatch: Sendable {
    public let runID: String
    /// The run's clock.
    public let at: UnixTime
    public let changes: [Change]

    public init(runID: String, at: UnixTime, changes: [Change]) {
        self.runID = runID
        self.at = at
        self.changes = changes
    }

    /// A new random run id (16 hex digits).
    public static func newRunID() -> String {
        let n = UInt64.random(in: 0...UInt64.max)
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The JSON store file, its audit log (`STORE.audit.jsonl`) and its lock file (`STORE.lock`).
///
/// Save order, and what a crash between two steps leaves:
/// 1. the new store is written to `.STORE.tmp-PID` in the same directory and fsynced
///    (crash: the old store; the next save removes the temporary file);
/// 2. the audit entries, each carrying the new revision, are appended and fsynced
///    (crash: the old store, and audit entries for a revision it never reached;
///    the next locked load removes those trailing entries);
/// 3. the temporary file is renamed over the store and the directory fsynced
///    (crash: the new store, whose changes are all in the audit log).
/// A failed write at any step removes the temporary file and truncates the audit
/// log back to where it was, so the old store and its log stay exactly as they were.
public struct JSONStoreFile: StoreBackend, Sendable {
    public let path: String
    /// How a load holds the file's bytes: mapped for the commands that load, run
    /// and exit; copied for a long session.
    public let holding: SourceHolding

    public init(path: String, holding: SourceHolding = .copy) {
        self.path = path
        self.holding = holding
    }

    public var auditPath: String { path + ".audit.jsonl" }
    public var lockPath: String { path + ".lock" }

    var directory: String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    var baseName: String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    var temporaryPrefix: String { "." + baseName + ".tmp-" }

    public var exists: Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    // MARK: Lock

    final class FileLock: StoreLock {
        private var fd: Int32

        init(fd: Int32) { self.fd = fd }

        func unlock() {
            guard fd >= 0 else { return }
            close(fd)  // releases the flock
            fd = -1
        }

        deinit { unlock() }
    }

    /// An exclusive `flock` on `STORE.lock` (the store itself is replaced by
    /// rename on every save, so it can't carry the lock). Polls until `timeout`.
    public func lock(timeout: Double) throws(StoreError) -> any StoreLock {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: lockPath, doing: "open the lock file", errno: errno) }
        let start = monotonicSeconds()
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(fd)
                throw .io(path: lockPath, doing: "lock", errno: code)
            }
            let waited = monotonicSeconds() - start
            if waited >= timeout {
                let holder = Self.readHolder(fd)
                close(fd)
                throw .locked(path: path, holder: holder, waited: (waited * 10).rounded() / 10)
            }
            usleep(20_000)
        }
        // Say who holds it, for the message another process gives.
        let me = Array("pid \(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = me.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        return FileLock(fd: fd)
    }

    private static func readHolder(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 63, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingSpaces
        return text.isEmpty ? nil : text
    }

    // MARK: Load

    public func load() throws(StoreError) -> LoadedStore {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw code == ENOENT ? .notFound(path: path) : .io(path: path, doing: "open", errno: code)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, doing: "stat", errno: errno) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .io(path: path, doing: "read", errno: EISDIR) }
        let size = Int(st.st_size)
        let (source, count) = try bytes(of: fd, size: size)
        let store: Store
        do {
            store = try Store.decode(source, count: count)
        } catch {
            throw .invalid(path: path, error)
        }
        return LoadedStore(store: store, version: Self.version(of: st, revision: store.revision))
    }

    /// The file's bytes, held as `holding` says (copied when it cannot be
    /// mapped), and how many there are.
    private func bytes(of fd: Int32, size: Int) throws(StoreError) -> (SourceBytes, Int) {
        if holding == .map, size > 0,
            let mapped = SourceBytes(
                mapping: fd, count: size, busErrorMessage: "jobrules: " + StoreError.cutShort(path: path).description,
                status: 2)
        {
            return (mapped, size)
        }
        let source = SourceBytes(count: size)
        var done = 0
        while done < size {
            let n = read(fd, source.buffer.baseAddress.unsafelyUnwrapped + done, size - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, doing: "read", errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return (source, done)
    }

    static func version(of st: stat, revision: Int64) -> StoreVersion {
        StoreVersion(
            revision: revision, device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
            modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    /// Whether the file on disk is still the version that was loaded (or last saved).
    public func isCurrent(_ version: StoreVersion) -> Bool {
        currentVersion(revision: version.revision) == version
    }

    /// The version on disk now, or nil if there is no file.
    func currentVersion(revision: Int64) -> StoreVersion? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Self.version(of: st, revision: revision)
    }

    // MARK: Save

    public func save(_ store: Store, over loaded: StoreVersion, audit: AuditBatch) throws(StoreError) -> StoreVersion {
        guard let current = currentVersion(revision: loaded.revision), current == loaded else {
            throw .stale(path: path)
        }
        return try write(store, revision: loaded.revision + 1, audit: audit, mode: nil)
    }

    /// Writes a new store file (for `init`): refuses to replace an existing one.
    public func create(_ store: Store) throws(StoreError) {
        let lock = try lock(timeout: 5)
        defer { lock.unlock() }
        guard !exists else { throw .exists(path: path) }
        _ = try write(store, revision: store.revision, audit: AuditBatch(runID: "", at: 0, changes: []), mode: 0o644)
    }

    private func write(_ store: Store, revision: Int64, audit: AuditBatch, mode: mode_t?) throws(StoreError) -> StoreVersion {
        removeTemporaryFiles()
        let ignored = signal(SIGXFSZ, SIG_IGN)  // a file-size limit must fail the write, not kill the process
        defer { signal(SIGXFSZ, ignored) }
        var st = stat()
        let keepMode = mode ?? (stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o644)
        let temporary = directory + "/" + temporaryPrefix + String(getpid())
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, keepMode)
        guard fd >= 0 else { throw .io(path: temporary, doing: "create", errno: errno) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        // The audit lines don't depend on the store's bytes: they are encoded on
        // another core while the store is encoded and written.
        let lines = AuditLines(audit, revision: revision)
        var failure: StoreError?
        var file = WritebackFile(fd: fd, path: temporary, offset: 0)
        do {
            try store.encode(revision: revision) { bytes in try file.write(bytes) }
        } catch {
            failure = error as? StoreError ?? .io(path: temporary, doing: "write", errno: EIO)
        }
        if failure == nil, fchmod(fd, keepMode) != 0 { failure = .io(path: temporary, doing: "set the mode of", errno: errno) }
        if failure == nil, fsync(fd) != 0 { failure = .io(path: temporary, doing: "sync", errno: errno) }
        if close(fd) != 0, failure == nil { failure = .io(path: temporary, doing: "close", errno: errno) }
        let chunks = lines.wait()
        if let failure { throw failure }

        let auditMark = try appendAudit(chunks)
        guard rename(temporary, path) == 0 else {
            let code = errno
            truncateAudit(to: auditMark)
            throw .io(path: path, doing: "replace", errno: code)
        }
        renamed = true
        syncDirectory()
        store.revision = revision
        return currentVersion(revision: revision) ?? StoreVersion(revision: revision, device: 0, inode: 0, size: 0, modified: 0)
    }

    private func syncDirectory() {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Removes temporary files a killed save left (only ever called under the lock,
    /// so no other process is writing one).
    public func removeTemporaryFiles() {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        let prefix = temporaryPrefix
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(prefix) { unlink(directory + "/" + name) }
        }
    }

    // MARK: Audit log

    /// Appends the lines and syncs; returns the log's size before, to undo it
    /// (-1 when there was nothing to append).
    private func appendAudit(_ lines: [[UInt8]]) throws(StoreError) -> Int64 {
        guard !lines.isEmpty else { return -1 }
        let fd = open(auditPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: auditPath, doing: "open", errno: errno) }
        defer { close(fd) }
        let before = Int64(lseek(fd, 0, SEEK_END))
        var file = WritebackFile(fd: fd, path: auditPath, offset: before)
        do throws(StoreError) {
            for chunk in lines {
                let failed = chunk.withUnsafeBytes { b -> StoreError? in
                    do throws(StoreError) { try file.write(b) } catch { return error }
                    return nil
                }
                if let failed { throw failed }
            }
            guard fsync(fd) == 0 else { throw StoreError.io(path: auditPath, doing: "sync", errno: errno) }
        } catch {
            _ = ftruncate(fd, off_t(before))
            throw error
        }
        return before
    }

    private func truncateAudit(to size: Int64) {
        guard size >= 0 else { return }
        _ = truncate(auditPath, off_t(size))
    }

    /// An audit line is
    /// `{"run":…,"revision":…,"at":…,"actor":…,"kind":…,"object":…,"field":…,"old":…,"new":…}`;
    /// this is what every line of a batch starts with: its run, revision and time.
    static func auditPrefix(batch: AuditBatch, revision: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 96)
        w.raw("{\"run\":")
        w.string(batch.runID)
        w.raw(",\"revision\":")
        w.int(revision)
        w.raw(",\"at\":")
        w.time(batch.at)
        return w.bytes
    }

    /// The rest of a change's line, after `auditPrefix`.
    static func auditLine(_ c: Change, into w: inout JSONWriter) {
        w.raw(",\"actor\":")
        w.string(c.actor)
        w.raw(",\"kind\":")
        w.string(c.kind)
        w.raw(",\"object\":")
        w.string(c.object)
        w.raw(",\"field\":")
        w.string(c.field)
        w.raw(",\"old\":")
        w.value(c.old)
        w.raw(",\"new\":")
        w.value(c.new)
        w.raw("}\n")
    }

    /// Clears what a killed save left: its temporary file, and its audit entries
    /// if the rename never happened. Call under the lock, after loading.
    public func recover(storeRevision: Int64) {
        removeTemporaryFiles()
        reconcileAudit(storeRevision: storeRevision)
    }

    /// Drops audit entries of saves that never landed: trailing lines whose
    /// revision is above the store's (a crash between the audit append and the
    /// rename), and a torn last line. Call under the lock, after loading.
    public func reconcileAudit(storeRevision: Int64) {
        let fd = open(auditPath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var end = Int64(lseek(fd, 0, SEEK_END))
        guard end > 0 else { return }
        let original = end
        let chunk: Int64 = 1 << 16
        // Walk back line by line from the end while lines are torn or too new.
        var tail: [UInt8] = []
        var tailStart = end
        while end > 0 {
            // Make sure the bytes [lineStart, end) of the last line are in `tail`.
            var lineStart: Int64? = nil
            while lineStart == nil {
                let searchEnd = end - 1  // ignore the line's own newline
                if let nl = tail[0..<max(0, Int(searchEnd - tailStart))].lastIndex(of: 0x0A) {
                    lineStart = tailStart + Int64(nl) + 1
                } else if tailStart == 0 {
                    lineStart = 0
                } else {
                    let from = max(0, tailStart - chunk)
                    var more = [UInt8](repeating: 0, count: Int(tailStart - from))
                    let n = more.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(from)) }
                    guard n == more.count else { return }
                    tail = more + tail
                    tailStart = from
                }
            }
            guard let start = lineStart else { return }
            let line = tail[Int(start - tailStart)..<Int(end - tailStart)]
            let complete = line.last == 0x0A
            if complete, let revision = Self.revision(ofAuditLine: Array(line)), revision <= storeRevision { break }
            end = start
        }
        if end != original { _ = ftruncate(fd, off_t(end)) }
    }

    /// The `revision` of an audit line, if it is one of ours.
    static func revision(ofAuditLine line: [UInt8]) -> Int64? {
        let key = Array("\"revision\":".utf8)
        guard let at = line.firstRange(of: key) else { return nil }
        var i = at.upperBound
        var value: Int64 = 0
        var digits = 0
        while i < line.count, line[i] &- 48 < 10, digits < 18 {
            value = value * 10 + Int64(line[i] - 48)
            i += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}

/// Seconds on CLOCK_MONOTONIC (for measuring steps, not for dates).
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

/// Writes a file from an offset on, asking the kernel every 8 MiB to start
/// writing back what came before without waiting: the fsync at the end then
/// waits for the last few megabytes, not the whole file (after a 100 000-job
/// batch it waited 0.1 s for the store; now a few milliseconds). A long
/// buffer is written a megabyte at a time, so that the hints come between:
/// one write of 100 MB left that much dirty and the kernel throttled it, and
/// writes of 8 MiB still took twice as long as writes of 1 MiB.
struct WritebackFile {
    let fd: Int32
    let path: String
    /// The file offset of the next byte written.
    private(set) var offset: Int64
    private var writtenBack: Int64
    static let window: Int64 = 8 << 20
    static let chunk = 1 << 20

    init(fd: Int32, path: String, offset: Int64) {
        self.fd = fd
        self.path = path
        self.offset = offset
        writtenBack = offset
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress.unsafelyUnwrapped + done, min(bytes.count - done, Self.chunk))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, doing: "write", errno: errno)
            }
            done += n
            offset += Int64(n)
            if offset - writtenBack >= Self.window {
                // Only a hint: when it fails, the fsync still writes everything.
                _ = jr_start_writeback(fd, writtenBack, offset - writtenBack)
                writtenBack = offset
            }
        }
    }
}

/// A batch's audit lines, encoded in chunks of about a megabyte: on another
/// thread for a large batch (started at once, taken with `wait`), inline for a
/// small one.
final class AuditLines: @unchecked Sendable {
    // Written by the worker before `done` is signalled, read after.
    private var chunks: [[UInt8]] = []
    private let done: DispatchSemaphore?

    /// Batches with fewer changes are encoded inline: a thread isn't worth it.
    static let threshold = 2000

    init(_ batch: AuditBatch, revision: Int64) {
        guard batch.changes.count >= Self.threshold else {
            done = nil
            chunks = Self.encode(batch, revision: revision)
            return
        }
        let done = DispatchSemaphore(value: 0)
        self.done = done
        DispatchQueue.global().async {
            self.chunks = Self.encode(batch, revision: revision)
            done.signal()
        }
    }

    /// The lines, once encoded. Call it once.
    func wait() -> [[UInt8]] {
        done?.wait()
        defer { chunks = [] }
        return chunks
    }

    static func encode(_ batch: AuditBatch, revision: Int64) -> [[UInt8]] {
        guard !batch.changes.isEmpty else { return [] }
        var chunks: [[UInt8]] = []
        var w = JSONWriter(capacity: 1 << 20 + 1 << 16)
        let prefix = JSONStoreFile.auditPrefix(batch: batch, revision: revision)
        for change in batch.changes {
            prefix.withUnsafeBytes { w.raw($0) }
            JSONStoreFile.auditLine(change, into: &w)
            if w.count >= 1 << 20 {
                chunks.append(w.bytes)
                w.removeAll()
            }
        }
        if w.count > 0 { chunks.append(w.bytes) }
        return chunks
    }
}
