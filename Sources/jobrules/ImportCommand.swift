import ArgumentParser
import Foundation
import Marketplace
import RuleEngine

/// `jobrules import EVENTS.jsonl`: marketplace events into the store, all or nothing.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Apply a feed of marketplace events (JSON Lines) to the store, all or nothing.",
        discussion: """
            One event a line, each with a unique "event" id, a "type" and an "at" time (README: \
            "Feeding the store"). Every line is read and checked first, then the events are \
            applied in file order through the same transitions as the Lua API, after expiry at \
            the clock of --now. If any line is bad (not JSON, an unknown type, a missing field, \
            an unknown job or order, a refused transition) each bad line is listed with its \
            number and nothing is written. Otherwise the store is saved once with its audit log, \
            under the same lock as `run`. An event id the store already applied is skipped, so a \
            feed can be replayed or overlap the last one.

            Exit status: 0 when the feed was applied (or, with --dry-run, checked); 2 when nothing \
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

    @OptionGroup var runTime: RunTimeOptions

    func run() throws {
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
            print(json ? report.json : report.text(style: Terminal.outputStyle), terminator: "")
        } else {
            if json {
                print(report.json, terminator: "")
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

    var refused: Bool { !outcome.problems.isEmpty }

    /// The types in the feed, in the order of SPEC §3.
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
        out += "\(feed.terminalSafe()): \(lines) event\(lines == 1 ? "" : "s"): \(outcome.applied) \(applied), \(outcome.skipped) skipped (already applied), \(outcome.refused) refused\n"
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

    /// The report as JSON (schema: docs/report.md).
    var json: String {
        var types: [(String, ChangeValue)] = self.types.map { type in
            let c = outcome.counts[type] ?? .init()
            return (type.rawValue, .object([("applied", .int(Int64(c.applied))), ("skipped", .int(Int64(c.skipped))), ("refused", .int(Int64(c.refused)))]))
        }
        if outcome.untypedRefused > 0 {
            types.append(("unknown", .object([("applied", .int(0)), ("skipped", .int(0)), ("refused", .int(Int64(outcome.untypedRefused)))])))
        }
        let errors = ChangeValue.array(outcome.problems.map { p in
            .object([
                ("line", .int(Int64(p.line))), ("event", p.event.map(ChangeValue.string) ?? .null),
                ("type", p.type.map(ChangeValue.string) ?? .null), ("message", .string(p.message)),
            ])
        })
        let s = summary
        let report = ChangeValue.object(s.jsonMembers + [
            ("feed", .string(feed)), ("events", .int(Int64(lines))),
            ("applied", .int(Int64(outcome.applied))), ("skipped", .int(Int64(outcome.skipped))),
            ("refused", .int(Int64(outcome.refused))), ("types", .object(types)), ("errors", errors),
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
