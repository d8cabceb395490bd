import Foundation
import RuleEngine

/// What the process's terminals allow: colour on stdout, a progress line on stderr.
enum Terminal {
    static var noColor: Bool {
        if let value = ProcessInfo.processInfo.environment["NO_COLOR"], !value.isEmpty { return true }
        return false
    }

    /// Colour on standard output only on a terminal, and never with NO_COLOR.
    static var outputStyle: TextStyle { TextStyle(color: isatty(1) == 1 && !noColor && !isDumb) }
    static var errorStyle: TextStyle { TextStyle(color: isatty(2) == 1 && !noColor && !isDumb) }
    static var isDumb: Bool { ProcessInfo.processInfo.environment["TERM"] == "dumb" }
}

/// A progress line on standard error while a long run works (only on a terminal).
final class ProgressLine {
    /// What the runner calls per item: nothing at all when no line can be shown.
    var callback: ((RunProgress) -> Void)? { enabled ? update : nil }

    /// Standard error is a terminal: lines will be shown.
    let enabled: Bool
    private let started = ContinuousClock.now
    private var last = ContinuousClock.now
    private var shown = false

    init() { enabled = isatty(2) == 1 && !Terminal.isDumb }

    /// Called for every item: cheap unless a line is due.
    func update(_ p: RunProgress) {
        guard enabled else { return }
        let now = ContinuousClock.now
        // Only runs that take a while get a line, refreshed ten times a second.
        guard now - started > .milliseconds(500), now - last > .milliseconds(100) else { return }
        last = now
        let percent = p.total > 0 ? p.done * 100 / p.total : 0
        let line = "[\(p.ruleNumber)/\(p.rules)] \(p.rule): \(p.done)/\(p.total) (\(percent)%)"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        shown = true
    }

    func clear() {
        guard shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        shown = false
    }
}
