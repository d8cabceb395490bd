import ArgumentParser
import Foundation
import Marketplace
import RuleEngine

/// `jobrules import EVENTS.jsonl`: marketplace events into the store, all or nothing.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Apply a feed of marketplace events (JSON Lines) to the store, all or nothing (or all it can, with --reject-to).",
        discussion: """
            One event a line, each with a unique "event" id, a "type" and an "at" time \
            (docs/import.md). Every line is read and checked first, then the events are \
            applied in file order through the same transitions as the Lua API, after expiry at \
            the clock of --now. If any line is bad (not JSON, an unknown type, a missing field, \
            an unknown job or order, a refused transition) each bad line is listed with its \
            number and nothing is written. Otherwise the store is saved once with its audit log, \
            under the same lock as `run`. An event id the store already applied is skipped, so a \
            feed can be replayed or overlap the last one.

            With --reject-to FILE (for feeds that must keep flowing, as from cron) the valid \
            events are applied and saved, and each refused line is appended to FILE with its \
            line number, the reason and its text, exit status 1. FILE is a feed: import it again \
            once what it waited for has arrived (move it aside first).

            Exit status: 0 when the feed was applied (or, with --dry-run, checked); 1 when lines \
            went to the reject file and the rest was applied; 2 when nothing \
            was written: a bad line, a bad store, an unreadable feed, a lock held too long, a \
            failed write.
            """
    )

    @Argument(help: ArgumentHelp("The feed, one JSON event a line; - reads standard input.", valueName: "EVENTS.jsonl"))
    var events: String

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Check the feed against the store and print the plan; write nothing (store and audit log).")
    var dryRun = false

    @Flag(help: "Print the report as JSON (schema: docs/report.md).")
    var json = false

    @Option(
        help: ArgumentHelp(
            "Apply the valid events and append the refused lines to FILE (with their line and reason); exit 1 when any "
                + "was refused. FILE can be fed back later.", valueName: "FILE"))
    var rejectTo: String?

    @OptionGroup var runTime: RunTimeOptions

    func run() throws {
        if let rejectTo { try RejectFile.check(rejectTo, feed: events, store: storeOptions.store) }
        let deadline = RunDeadline(try runTime.limit(), given: runTime.maxRunTime)
        // Read before taking the lock: a slow pipe must not hold other runs up.
        let readStart = monotonicSeconds()
        let bytes = try readFeed()
        let feed = ImportFeed.read(SourceBytes.copying(bytes), count: bytes.count)
        let readSeconds = monotonicSeconds() - readStart
        try deadline.check("reading the feed")
        let locked = try LockedStore(options: storeOptions, dryRun: dryRun, deadline: deadline)
        defer { locked.release() }
        var mark = monotonicSeconds()
        let outcome = locked.store.apply(feed, deadline: deadline.at)
        if let line = outcome.stoppedAtLine { throw deadline.error("at line \(line) of the feed") }
        locked.seconds.rules = locked.seconds.lap(&mark)
        var report = ImportReport(feed: events == "-" ? "standard input" : events, locked: locked, outcome: outcome, lines: feed.lineCount)
        report.readSeconds = readSeconds
        // The events stay in memory until the process exits, like the store (`KeptUntilExit`).
        KeptUntilExit.keep(feed)
        if outcome.problems.isEmpty {
            report.summary.revisionAfter = try locked.save()
            report.summary.seconds = locked.seconds
            if json { JSONReport.print(report.json) } else { print(report.text(style: Terminal.outputStyle), terminator: "") }
        } else if let rejectTo {
            // The refused lines are kept (synced) before the store is saved,
            // so that a crash loses no event; a save that fails takes them out
            // again, so that the feed can simply be imported again.
            report.rejectedTo = rejectTo
            var appended: RejectFile.Appended?
            if !dryRun {
                // What the reject file already keeps is not added again (a feed imported twice).
                let kept = (try? InputFile.read(rejectTo, limit: Limits.feedBytes)) ?? []
                let known = kept.withUnsafeBytes { RejectedLines.texts(ofRecords: $0) }
                let records = bytes.withUnsafeBytes { raw in
                    RejectedLines.records(of: raw, problems: outcome.problems, feed: report.feed, at: locked.now, known: known)
                }
                appended = try RejectFile.append(records, to: rejectTo)
            }
            do {
                report.summary.revisionAfter = try locked.save()
            } catch {
                appended?.undo()
                throw error
            }
            appended?.close()
            report.summary.seconds = locked.seconds
            if json { JSONReport.print(report.json) } else { print(report.text(style: Terminal.outputStyle), terminator: "") }
            if !json { printError("jobrules: " + report.rejection) }
            throw ExitStatus.failure
        } else {
            if json {
                JSONReport.print(report.json)
            } else {
                print(report.text(style: Terminal.outputStyle), terminator: "")
            }
            throw UsageError(report.refusal)
        }
    }

    private func readFeed() throws -> [UInt8] {
        do {
            if events == "-" { return try InputFile.read(fd: 0, name: "standard input", limit: Limits.feedBytes) }
            return try InputFile.read(events, limit: Limits.feedBytes)
        } catch {
            throw UsageError(error.description)
        }
    }
}

/// What an import did (or, refused or dry, would have done).
struct ImportReport {
    var summary: BatchSummary
    let feed: String
    let outcome: ImportOutcome
    let lines: Int
    /// Reading and checking the feed's lines, before the lock.
    var readSeconds = 0.0

    init(feed: String, locked: LockedStore, outcome: ImportOutcome, lines: Int) {
        summary = BatchSummary(locked, changes: locked.store.changes)
        self.feed = feed
        self.outcome = outcome
        self.lines = lines
    }

    /// `--reject-to`: refused lines go there and the rest is applied.
    var rejectedTo: String?
    /// Nothing was applied because of a bad line.
    var refused: Bool { !outcome.problems.isEmpty && rejectedTo == nil }

    /// The types in the feed, in the order of docs/import.md.
    var types: [ImportEventType] { ImportEventType.allCases.filter { outcome.counts[$0] != nil } }

    static let shownProblems = 100

    /// The error for a refused feed: every bad line (up to a hundred).
    var refusal: String {
        let bad = Set(outcome.problems.map(\.line)).count
        var text = "\(feed): \(bad) bad line\(bad == 1 ? "" : "s") of \(lines), nothing was imported:"
        for problem in outcome.problems.prefix(Self.shownProblems) { text += "\n  \(problem)" }
        if outcome.problems.count > Self.shownProblems {
            text += "\n  … and \(outcome.problems.count - Self.shownProblems) more problems (--json lists them all)"
        }
        return text
    }

    /// The warning for refused lines kept in the reject file: every bad line (up to a hundred).
    var rejection: String {
        let bad = Set(outcome.problems.map(\.line)).count
        let whereTo = summary.dryRun ? "would be appended to" : "appended to"
        var text = "\(feed): \(bad) bad line\(bad == 1 ? "" : "s") of \(lines) \(whereTo) \(rejectedTo ?? ""), the others applied:"
        for problem in outcome.problems.prefix(Self.shownProblems) { text += "\n  \(problem)" }
        if outcome.problems.count > Self.shownProblems {
            text += "\n  … and \(outcome.problems.count - Self.shownProblems) more problems (--json lists them all)"
        }
        return text
    }

    func text(style: TextStyle) -> String {
        let s = summary
        var out = s.title(style: style)
        if refused {
            out += ": nothing imported (revision \(s.revisionBefore))\n"
        } else if s.dryRun {
            out += " (dry run: nothing written)\n"
        } else if s.saved {
            out += s.savedLine
        } else {
            out += ": nothing to change (revision \(s.revisionBefore))\n"
        }
        out += s.expiredLine
        let applied = refused ? "valid" : s.dryRun ? "to apply" : "applied"
        let kept = rejectedTo.map { " (\(s.dryRun ? "to be " : "")appended to \($0.terminalSafe()))" } ?? ""
        out += "\(feed.terminalSafe()): \(lines) event\(lines == 1 ? "" : "s"): \(outcome.applied) \(applied), \(outcome.skipped) skipped (already applied), \(outcome.refused) refused\(kept)\n"
        if !types.isEmpty || outcome.untypedRefused > 0 {
            func row(_ name: String, _ a: String, _ s: String, _ r: String) -> String {
                name.padding(toLength: 30, withPad: " ", startingAt: 0) + a.leftPadded(9) + s.leftPadded(9) + r.leftPadded(9) + "\n"
            }
            out += "\n" + style.bold(row("event type", applied, "skipped", "refused"))
            for type in types {
                let c = outcome.counts[type] ?? .init()
                out += row(type.rawValue, "\(c.applied)", "\(c.skipped)", "\(c.refused)")
            }
            if outcome.untypedRefused > 0 { out += row("(no type)", "", "", "\(outcome.untypedRefused)") }
        }
        if s.dryRun, !refused { out += s.plan(style: style) }
        return out
    }

    /// Whether the valid events went into the store (not refused, not dry).
    var written: Bool { !refused && !summary.dryRun }

    /// The report as JSON (schema: docs/report.md).
    var json: String {
        var types: [(String, ChangeValue)] = self.types.map { type in
            let c = outcome.counts[type] ?? .init()
            return (type.rawValue, .object([
                ("valid", .int(Int64(c.applied))), ("applied", .int(written ? Int64(c.applied) : 0)),
                ("skipped", .int(Int64(c.skipped))), ("refused", .int(Int64(c.refused))),
            ]))
        }
        if outcome.untypedRefused > 0 {
            types.append(("unknown", .object([
                ("valid", .int(0)), ("applied", .int(0)), ("skipped", .int(0)), ("refused", .int(Int64(outcome.untypedRefused))),
            ])))
        }
        let errors = ChangeValue.array(outcome.problems.map { p in
            .object([
                ("line", .int(Int64(p.line))), ("event", p.event.map(ChangeValue.string) ?? .null),
                ("type", p.type.map(ChangeValue.string) ?? .null), ("message", .string(p.message)),
            ])
        })
        let s = summary
        let exit: Int64 = refused ? 2 : outcome.problems.isEmpty ? 0 : 1
        let report = ChangeValue.object(s.jsonMembers + [
            ("exit", .int(exit)), ("error", refused ? .string(refusal) : .null),
            ("feed", .string(feed)), ("events", .int(Int64(lines))),
            ("valid", .int(Int64(outcome.applied))), ("applied", .int(written ? Int64(outcome.applied) : 0)),
            ("skipped", .int(Int64(outcome.skipped))), ("refused", .int(Int64(outcome.refused))),
            ("rejected_to", rejectedTo.map(ChangeValue.string) ?? .null), ("types", .object(types)), ("errors", errors),
            ("change_count", .int(Int64(refused ? 0 : s.changes.count))),
            ("seconds", .object([
                ("read", .number(readSeconds)), ("lock", .number(s.seconds.lock)), ("load", .number(s.seconds.load)),
                ("apply", .number(s.seconds.rules)), ("save", .number(s.seconds.save)),
            ])),
            // A feed can make hundreds of thousands of changes: the plan comes with --dry-run only.
            ("plan", s.dryRun && !refused ? Plan(s.changes).json : .array([])),
        ])
        return report.description + "\n"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// The file `import --reject-to` appends refused lines to.
enum RejectFile {
    /// Refuses, before anything is read, a reject file that is the feed
    /// itself, one of the store's own files (the store, its audit log, its
    /// lock, its temporary files: appending to them would break the store),
    /// or not a regular file (a FIFO would block, a directory can't be written).
    static func check(_ path: String, feed: String, store: String) throws {
        // The store's files lie beside the file a link names; so may a linked reject file.
        let storeFile = JSONStoreFile(path: store)
        let own = [storeFile.path, storeFile.auditPath, storeFile.lockPath]
        for spelling in [path, JSONStoreFile.resolvingLink(path)] {
            if let name = Self.place(of: spelling), let storePlace = Self.place(of: storeFile.path), name.directory == storePlace.directory,
                own.compactMap(Self.place).contains(where: { $0.name == name.name })
                    || name.name.hasPrefix(storeFile.temporaryPrefix)
            {
                throw UsageError("--reject-to \(path) is one of the store's own files: name another file")
            }
        }
        var target = stat()
        guard stat(path, &target) == 0 else { return }  // made when first needed
        guard target.st_mode & S_IFMT == S_IFREG else {
            throw UsageError("--reject-to \(path): \(FileKind(target.st_mode)), not a file lines can be added to")
        }
        for file in own {  // another name of the same file (a hard link)
            var other = stat()
            if stat(file, &other) == 0, other.st_dev == target.st_dev, other.st_ino == target.st_ino {
                throw UsageError("--reject-to \(path) is one of the store's own files (\(file)): name another file")
            }
        }
        var source = stat()
        if feed != "-", stat(feed, &source) == 0, source.st_dev == target.st_dev, source.st_ino == target.st_ino {
            throw UsageError(
                "--reject-to \(path) is the feed itself: move it aside first (mv \(path) retry.jsonl), "
                    + "then import retry.jsonl --reject-to \(path)")
        }
    }

    /// A file's directory (as device and inode, so that two spellings of one
    /// directory match) and its name in it.
    private static func place(of path: String) -> (directory: [UInt64], name: String)? {
        let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        var info = stat()
        guard stat(directory(of: path), &info) == 0 else { return nil }
        return ([UInt64(info.st_dev), UInt64(info.st_ino)], name)
    }

    private static func directory(of path: String) -> String {
        path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    }

    /// Records appended by `append`, until the store is saved: the file
    /// stays open and locked (`flock`) until then, so that another import
    /// appending to it waits, and an `undo` takes out these records only.
    final class Appended {
        let fd: Int32
        /// The file's size before.
        let sizeBefore: off_t
        private var isOpen = true

        init(fd: Int32, sizeBefore: off_t) {
            self.fd = fd
            self.sizeBefore = sizeBefore
        }

        /// Takes the records out again: the file as it was (empty, if `append` made it).
        func undo() {
            guard isOpen else { return }
            if ftruncate(fd, sizeBefore) == 0 { _ = fsync(fd) }
            close()
        }

        /// Keeps the records and lets the file go.
        func close() {
            guard isOpen else { return }
            isOpen = false
            _ = Glibc.close(fd)
        }

        deinit { close() }
    }

    /// Appends `records` to `path` (made if missing, its directory synced
    /// then) after the last whole line, and syncs it.
    static func append(_ records: [UInt8], to path: String) throws -> Appended? {
        guard !records.isEmpty else { return nil }
        func failure(_ doing: String) -> UsageError {
            UsageError("cannot \(doing) the reject file \(path): \(String(cString: strerror(errno))); nothing was imported")
        }
        var created = true
        var fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0, errno == EEXIST {
            created = false
            fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)
        }
        guard fd >= 0 else { throw failure("open") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let error = failure("lock")
                _ = Glibc.close(fd)
                throw error
            }
        }
        var size = stat()
        guard fstat(fd, &size) == 0 else {
            let error = failure("read")
            _ = Glibc.close(fd)
            throw error
        }
        let appended = Appended(fd: fd, sizeBefore: size.st_size)
        var bytes = records
        // A file edited by hand may end without its newline: the records start on a line of their own.
        var last: UInt8 = 0
        if size.st_size > 0, pread(fd, &last, 1, size.st_size - 1) == 1, last != UInt8(ascii: "\n") {
            bytes.insert(UInt8(ascii: "\n"), at: 0)
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + written }, bytes.count - written) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let error = failure("write")
                appended.undo()  // the file stays a list of whole records
                throw error
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let error = failure("sync")
            appended.undo()
            throw error
        }
        if created {
            let dir = open(directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dir >= 0 {
                _ = fsync(dir)
                _ = Glibc.close(dir)
            }
        }
        return appended
    }
}
