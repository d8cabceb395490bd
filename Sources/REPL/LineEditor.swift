import CReadline
import Foundation
import LuaHost

/// GNU readline, driven through its callback interface so that Ctrl-C can
/// be seen next to the terminal (poll on both) instead of through readline's
/// own signal handling: Ctrl-C clears the line being typed.
///
/// Readline is one per process and calls back through C function pointers,
/// so what the callbacks need lives in `LineEditorState`.
public final class LineEditor {
    public enum Input: Equatable {
        case line(String)
        /// Ctrl-C while typing.
        case interrupted
        /// Ctrl-D on an empty line, or the end of the input.
        case end
    }

    let historyPath: String?
    let historySize: Int32
    /// Whether the input is gone for good (not a Ctrl-D: a closed terminal or pipe).
    public private(set) var closed = false
    /// The terminal's settings before the editor changed them.
    private var savedSettings: termios?

    /// `history`: the file that keeps entered statements across sessions (nil: none).
    public init(history: String?, historySize: Int = 1000, complete: @escaping (String, String) -> [Completer.Candidate]) {
        historyPath = history
        self.historySize = Int32(clamping: historySize)
        LineEditorState.complete = complete
        // Ctrl-C must not flush the terminal's queues: the kernel flushes
        // right after it raises SIGINT, so it could discard what the REPL
        // writes in answer (the `^C`, the newline, the interrupted message).
        var settings = termios()
        if tcgetattr(0, &settings) == 0 {
            savedSettings = settings
            settings.c_lflag |= tcflag_t(NOFLSH)
            tcsetattr(0, TCSANOW, &settings)
        }
        jr_rl_configure(completeHook)
        using_history()
        stifle_history(self.historySize)
        if let history {
            // Readable by its owner only: statements can hold customer data.
            let fd = open(history, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            if fd >= 0 { Glibc.close(fd) }
            read_history(history)
        }
    }

    /// Reads one line with `prompt` (which may hold `\u{1}…\u{2}` around colour codes).
    public func read(prompt: String) -> Input {
        LineEditorState.done = false
        LineEditorState.result = .end
        // A Ctrl-C since the last line (one that stopped a statement, or came
        // between prompts) discards what was typed ahead, as a terminal's own
        // interrupt would: the terminal is set not to flush by itself.
        if LuaInterrupts.take() { tcflush(0, TCIFLUSH) }
        jr_rl_reset_eof()
        rl_callback_handler_install(prompt, lineHook)
        while !LineEditorState.done {
            var fds = [
                pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                pollfd(fd: LuaInterrupts.fileDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            let n = poll(&fds, 2, -1)
            // Read before anything else can change it: a signal that isn't
            // Ctrl-C (a timer's, a resized window's) interrupts the wait and
            // must not read as the end of the input.
            let failure = n < 0 ? errno : 0
            if LuaInterrupts.take() {
                // Drop the line, put the terminal back, and start afresh on a new line.
                jr_rl_mark_interrupted()
                rl_free_line_state()
                rl_callback_sigcleanup()
                rl_cleanup_after_signal()
                rl_callback_handler_remove()
                FileHandle.standardOutput.write(Data("\n".utf8))
                return .interrupted
            }
            if n < 0 {
                if failure == EINTR || failure == EAGAIN { continue }
                closed = true
                rl_callback_handler_remove()
                return .end
            }
            if fds[0].revents != 0 { rl_callback_read_char() }
        }
        if LineEditorState.result == .end {
            // Ctrl-D, or a terminal that is gone (hung up, closed): only the
            // second leaves nobody to ask.
            var fd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            if poll(&fd, 1, 0) > 0, fd.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { closed = true }
        }
        return LineEditorState.result
    }

    /// Keeps `entry` in the history (and its file) unless it is empty, starts
    /// with a space, or repeats the previous entry.
    public func remember(_ entry: String) {
        guard !entry.isEmpty, !entry.hasPrefix(" ") else { return }
        if let last = jr_rl_last_history(), String(cString: last) == entry { return }
        add_history(entry)
        if let historyPath { append_history(1, historyPath) }
    }

    /// Cuts the history file to its cap.
    public func close() {
        if let historyPath { history_truncate_file(historyPath, historySize) }
        if var settings = savedSettings {
            tcsetattr(0, TCSANOW, &settings)
            savedSettings = nil
        }
    }
}

/// What readline's C callbacks share with the editor (one editor per process,
/// used from the main thread only).
enum LineEditorState {
    nonisolated(unsafe) static var done = false
    nonisolated(unsafe) static var result = LineEditor.Input.end
    nonisolated(unsafe) static var complete: (String, String) -> [Completer.Candidate] = { _, _ in [] }
    nonisolated(unsafe) static var candidates: [String] = []
    nonisolated(unsafe) static var next = 0
}

private let lineHook: @convention(c) (UnsafeMutablePointer<CChar>?) -> Void = { line in
    rl_callback_handler_remove()
    LineEditorState.done = true
    if let line {
        LineEditorState.result = .line(String(cString: line))
        free(line)
    } else {
        // End of input: leave the cursor on a fresh line (unless readline did).
        if jr_rl_newline_at_eof() == 0 { FileHandle.standardOutput.write(Data("\n".utf8)) }
        LineEditorState.result = .end
    }
}

private let completeHook: @convention(c) (UnsafePointer<CChar>?, Int32, Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = {
    text, start, _ in
    let word = text.map { String(cString: $0) } ?? ""
    let line = jr_rl_line().map { Array(String(cString: $0).utf8) } ?? []
    let before = String(decoding: line.prefix(Int(max(0, start))), as: UTF8.self)
    let found = LineEditorState.complete(before, word)
    // A completed name gets nothing appended: `jobs.count` may go on with `(`, `{` or `"`.
    jr_rl_completion_done(0)
    guard !found.isEmpty else { return nil }
    LineEditorState.candidates = found.map(\.name)
    LineEditorState.next = 0
    return rl_completion_matches(text, generateHook)
}

private let generateHook: @convention(c) (UnsafePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>? = { _, state in
    if state == 0 { LineEditorState.next = 0 }
    guard LineEditorState.next < LineEditorState.candidates.count else { return nil }
    defer { LineEditorState.next += 1 }
    return strdup(LineEditorState.candidates[LineEditorState.next])
}
