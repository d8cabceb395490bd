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

    /// `path` is the store as named; a symbolic link is followed once here,
    /// so that a save replaces the file it points to (its lock file and
    /// audit log lie beside that file) instead of the link.
    public init(path: String, holding: SourceHolding = .copy) {
        self.path = Self.resolvingLink(path)
        self.holding = holding
    }

    public static func resolvingLink(_ path: String) -> String {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFLNK else { return path }
        if let real = realpath(path, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        // A link to a store not made yet (`init`): where it points.
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, Int(PATH_MAX))
        guard n > 0 else { return path }
        let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard !target.hasPrefix("/"), let slash = path.lastIndex(of: "/") else { return target }
        return String(path[...slash]) + target
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

    public var temporaryPrefix: String { "." + baseName + ".tmp-" }

    public var exists: Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Refuses a store path that names something other than a regular file
    /// (a directory, a FIFO, a device), before anything is opened or created
    /// beside it. A path that doesn't exist passes.
    public func checkKind() throws(StoreError) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .notAFile(path: path, kind: FileKind(st.st_mode)) }
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
    /// The lock file is never followed through a symbolic link, and must be a
    /// regular file; its first line names the holder, and a save in progress
    /// notes itself further on (`PendingSave`).
    public func lock(timeout: Double) throws(StoreError) -> any StoreLock {
        try checkKind()
        let fd = try Self.openOwnFile(lockPath, O_RDWR | O_CREAT, what: "the lock file")
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
        // Say who holds it, for the message another process gives; a record
        // of a killed save after it stays.
        var me = Array("pid \(getpid())".utf8)
        me += [UInt8](repeating: 0x20, count: max(0, PendingSave.recordOffset - 1 - me.count)) + [0x0A]
        _ = me.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return FileLock(fd: fd)
    }

    /// Opens one of the store's own files (its lock file, its audit log)
    /// without following a symbolic link, without waiting on a FIFO, and
    /// refuses anything but a regular file.
    static func openOwnFile(_ path: String, _ flags: Int32, what: String) throws(StoreError) -> Int32 {
        let fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard fd >= 0 else {
            let code = errno
            if code == ELOOP { throw .notAFile(path: path, kind: .symbolicLink) }
            throw .io(path: path, doing: "open \(what)", errno: code)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw .io(path: path, doing: "open \(what)", errno: code)
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw .notAFile(path: path, kind: FileKind(st.st_mode))
        }
        // Reads and writes of a regular file never block anyway; keep the usual flags.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    private static func readHolder(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 63, 0) }
        guard n > 0 else { return nil }
        let line = buffer[0..<n].prefix { $0 != 0x0A }
        let text = String(decoding: line, as: UTF8.self).trimmingSpaces
        // Only what a holder writes: `pid N`.
        guard text.hasPrefix("pid "), text.dropFirst(4).allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return text
    }

    // MARK: Load

    public func load() throws(StoreError) -> LoadedStore {
        // Not blocking: a FIFO in the store's place is refused below, not waited on.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            throw code == ENOENT ? .notFound(path: path) : .io(path: path, doing: "open", errno: code)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, doing: "stat", errno: errno) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .notAFile(path: path, kind: FileKind(st.st_mode)) }
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
        guard loaded.revision < Limits.count else { throw .io(path: path, doing: "save a revision past \(Limits.count) of", errno: EOVERFLOW) }
        return try write(store, revision: loaded.revision + 1, audit: audit, mode: nil)
    }

    /// Writes a new store file (for `init`): refuses to replace an existing one.
    public func create(_ store: Store) throws(StoreError) {
        if exists {
            try checkKind()
            throw .exists(path: path)
        }
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

        let auditMark = try appendAudit(chunks, pending: PendingSave(revision: revision, run: audit.runID, offset: 0))
        guard rename(temporary, path) == 0 else {
            let code = errno
            truncateAudit(to: auditMark)
            PendingSave.clear(lockPath)
            throw .io(path: path, doing: "replace", errno: code)
        }
        renamed = true
        syncDirectory()
        // Landed: the record of the save in progress has no more use (were
        // this lost, the store's revision says the save landed).
        if auditMark >= 0 { PendingSave.clear(lockPath) }
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
    /// (-1 when there was nothing to append). First, `pending` (with that
    /// size) is noted in the lock file and synced: should the process die
    /// before the rename, the next locked load knows exactly which lines are
    /// this unfinished save's.
    private func appendAudit(_ lines: [[UInt8]], pending: PendingSave) throws(StoreError) -> Int64 {
        guard !lines.isEmpty else { return -1 }
        let fd = try Self.openOwnFile(auditPath, O_RDWR | O_CREAT | O_APPEND, what: "the audit log")
        defer { close(fd) }
        let before = Int64(lseek(fd, 0, SEEK_END))
        // A last line that doesn't end (not jobrules', which always ends its
        // lines) stays as it is; ours start on a line of their own, and the
        // note says where they start: after that newline.
        var last: UInt8 = 0x0A
        let separate = before > 0 && pread(fd, &last, 1, off_t(before - 1)) == 1 && last != 0x0A
        var pending = pending
        pending.offset = before + (separate ? 1 : 0)
        try pending.write(lockPath)
        var file = WritebackFile(fd: fd, path: auditPath, offset: before)
        do throws(StoreError) {
            if separate {
                let newline: [UInt8] = [0x0A]
                let failed = newline.withUnsafeBytes { b -> StoreError? in
                    do throws(StoreError) { try file.write(b) } catch { return error }
                    return nil
                }
                if let failed { throw failed }
            }
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

    /// Clears what a killed save left — its temporary file, and the audit
    /// lines it appended before the rename never happened — and refuses a
    /// store older than its audit log. Call under the lock, after loading.
    /// A dry run (`clearing: false`) changes nothing and refuses the same.
    ///
    /// Only lines a killed save noted as its own (`PendingSave`, in the lock
    /// file) are ever removed; any other line stays. A store whose revision
    /// is below the log's last revision otherwise was put back from an older
    /// copy: refused (`StoreError.restored`), so that the history it lacks
    /// stays in the log.
    public func recover(storeRevision: Int64, clearing: Bool = true) throws(StoreError) {
        if clearing { removeTemporaryFiles() }
        // Where the log's own history ends: before a killed save's lines (which
        // a dry run leaves where they are).
        var historyEnd: Int64?
        if let pending = PendingSave.read(lockPath) {
            if pending.revision > storeRevision {
                try dropUnfinished(pending, clearing: clearing)
                historyEnd = pending.offset
            } else if clearing {
                PendingSave.clear(lockPath)
            }
        }
        if let logged = lastAuditRevision(before: historyEnd), logged > storeRevision {
            throw .restored(path: path, storeRevision: storeRevision, auditRevision: logged)
        }
    }

    /// Truncates the audit log back to where `pending` began, once every line
    /// after that point is checked to be its own (a torn last one included).
    private func dropUnfinished(_ pending: PendingSave, clearing: Bool) throws(StoreError) {
        let fd = open(auditPath, (clearing ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else {
            // No log at all: nothing of the save reached it.
            if clearing { PendingSave.clear(lockPath) }
            return
        }
        defer { close(fd) }
        let size = Int64(lseek(fd, 0, SEEK_END))
        guard size > pending.offset else {
            if clearing { PendingSave.clear(lockPath) }
            return
        }
        guard Self.linesAreAll(fd, from: pending.offset, to: size, startingWith: pending.linePrefix) else {
            throw .unfinishedSaveMixed(path: auditPath, revision: pending.revision)
        }
        guard clearing else { return }
        guard ftruncate(fd, off_t(pending.offset)) == 0, fsync(fd) == 0 else {
            throw .io(path: auditPath, doing: "truncate the unfinished save's lines of", errno: errno)
        }
        PendingSave.clear(lockPath)
    }

    /// Whether each line in [from, to) starts with `prefix`, the last one
    /// perhaps cut short (within the prefix or after it). One pass.
    static func linesAreAll(_ fd: Int32, from: Int64, to: Int64, startingWith prefix: [UInt8]) -> Bool {
        var offset = from
        var atLineStart = true
        var matched = 0  // bytes of the current line checked against the prefix
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while offset < to {
            let want = Int(min(Int64(buffer.count), to - offset))
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
            guard n > 0 else { return false }
            for b in buffer[0..<n] {
                if atLineStart || matched < prefix.count {
                    atLineStart = false
                    guard b == prefix[matched] else { return false }
                    matched += 1
                } else if b == 0x0A {
                    atLineStart = true
                    matched = 0
                }
            }
            offset += Int64(n)
        }
        return true
    }

    /// The revision of the audit log's last line that jobrules wrote, looking
    /// back from the end over any other (a torn line, a line someone added):
    /// reads only the lines it looks at.
    func lastAuditRevision(before bound: Int64? = nil) -> Int64? {
        let fd = open(auditPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        var end = min(Int64(st.st_size), bound ?? Int64.max)  // lines before `end` are still to look at
        let chunk: Int64 = 1 << 16
        var buffer = [UInt8](repeating: 0, count: Int(chunk))
        var head = [UInt8](repeating: 0, count: 64)
        // A last line without its newline was cut short: not a line jobrules finished.
        var complete = end > 0 && pread(fd, &head, 1, off_t(end - 1)) == 1 && head[0] == 0x0A
        while end > 0 {
            // The start of the line that ends at `end`: after the newline before it.
            var start: Int64 = 0
            var searchEnd = end - 1  // the line's own newline (or last byte) excluded
            search: while searchEnd > 0 {
                let from = max(0, searchEnd - chunk)
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(searchEnd - from), off_t(from)) }
                guard n == Int(searchEnd - from) else { return nil }
                if let nl = buffer[0..<n].lastIndex(of: 0x0A) {
                    start = from + Int64(nl) + 1
                    break search
                }
                searchEnd = from
            }
            let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(min(64, end - start)), off_t(start)) }
            if complete, n > 0, let revision = Self.revision(ofAuditLine: Array(head[0..<n])) { return revision }
            complete = true
            end = start
        }
        return nil
    }

    /// The `revision` of an audit line, if it is one jobrules wrote: it
    /// starts `{"run":"<run id>","revision":N,` (a run id is plain ASCII).
    static func revision(ofAuditLine line: [UInt8]) -> Int64? {
        let head = Array(#"{"run":""#.utf8)
        let middle = Array(#"","revision":"#.utf8)
        guard line.count > head.count + middle.count, Array(line[0..<head.count]) == head else { return nil }
        var i = head.count
        while i < line.count, line[i] != UInt8(ascii: "\""), line[i] != UInt8(ascii: "\\"), line[i] &- 0x20 < 0x5F { i += 1 }
        guard i > head.count, i + middle.count <= line.count, Array(line[i..<(i + middle.count)]) == middle else { return nil }
        i += middle.count
        var value: Int64 = 0
        var digits = 0
        while i < line.count, line[i] &- 48 < 10, digits < 18 {
            value = value * 10 + Int64(line[i] - 48)
            i += 1
            digits += 1
        }
        guard digits > 0, i < line.count, line[i] == UInt8(ascii: ",") else { return nil }
        return value
    }
}

/// A save in progress, noted in the store's lock file after the holder's
/// line, before its audit lines are appended: `pending REVISION RUN OFFSET`,
/// where OFFSET is the audit log's size before them. Cleared once the store
/// is renamed into place.
struct PendingSave: Equatable {
    let revision: Int64
    let run: String
    var offset: Int64

    /// Where the record lies in the lock file (after the holder's line).
    static let recordOffset = 64
    static let recordSize = 128

    /// What each of its audit lines starts with.
    var linePrefix: [UInt8] { Array("{\"run\":\"\(run)\",\"revision\":\(revision),".utf8) }

    func write(_ lockPath: String) throws(StoreError) {
        var line = Array("pending \(revision) \(run) \(offset)".utf8)
        line += [UInt8](repeating: 0x20, count: max(0, Self.recordSize - 1 - line.count)) + [0x0A]
        let fd = try JSONStoreFile.openOwnFile(lockPath, O_RDWR, what: "the lock file")
        defer { close(fd) }
        let written = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(Self.recordOffset)) }
        guard written == line.count else { throw .io(path: lockPath, doing: "note the save in", errno: written < 0 ? errno : EIO) }
        guard fdatasync(fd) == 0 else { throw .io(path: lockPath, doing: "sync", errno: errno) }
    }

    static func read(_ lockPath: String) -> PendingSave? {
        let fd = open(lockPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: recordSize)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, recordSize, off_t(recordOffset)) }
        guard n > 0 else { return nil }
        let words = String(decoding: buffer[0..<n].prefix { $0 != 0x0A }, as: UTF8.self).split(separator: " ")
        guard words.count == 4, words[0] == "pending", let revision = Int64(words[1]), let offset = Int64(words[3]), offset >= 0
        else { return nil }
        return PendingSave(revision: revision, run: String(words[2]), offset: offset)
    }

    /// Blanks the record, and syncs: a record that outlived its landed save
    /// would, after the store was put back from a backup, make that save's
    /// lines look unfinished.
    static func clear(_ lockPath: String) {
        let fd = open(lockPath, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let blank = [UInt8](repeating: 0x20, count: recordSize - 1) + [0x0A]
        _ = blank.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(recordOffset)) }
        _ = fdatasync(fd)
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
