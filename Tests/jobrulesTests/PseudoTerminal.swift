import CPTY
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A program on a pseudo-terminal, driven by keystrokes as a person at a
/// terminal would: what it writes is read back as screen text.
final class PseudoTerminal {
    let pid: pid_t
    let controller: Int32
    /// Everything written so far, escape sequences and carriage returns removed.
    private(set) var screen = ""
    /// Where the next `expect` starts looking.
    private var mark: String.Index
    private var raw: [UInt8] = []
    private var exitStatus: Int32?

    struct Timeout: Error, CustomStringConvertible {
        let waitingFor: String
        let screen: String
        /// The last bytes as written, escape sequences included.
        let tail: [UInt8]
        var description: String {
            "timed out waiting for \(waitingFor.debugDescription); the screen so far:\n\(screen)\n"
                + "the last bytes: \(String(decoding: tail, as: UTF8.self).debugDescription)"
        }
    }

    init(_ executable: URL, _ arguments: [String], in directory: URL, environment: [String: String]) throws {
        let argv = [executable.path] + arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var controller: Int32 = -1
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = envp.map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        pid = jr_pty_spawn(executable.path, cArgs, cEnv, directory.path, 40, 160, &controller)
        guard pid > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        self.controller = controller
        mark = screen.startIndex
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        Glibc.close(controller)
    }

    /// Types `text` (no Enter).
    func type(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(controller, $0.baseAddress, $0.count) }
    }

    /// Types `line` and Enter.
    func enter(_ line: String) { type(line + "\r") }

    static let tab = "\t"
    static let ctrlC = "\u{3}"
    static let ctrlD = "\u{4}"
    static let up = "\u{1B}[A"
    static let ctrlU = "\u{15}"

    /// Waits until `text` appears after the previous match; returns what came before it.
    @discardableResult
    func expect(_ text: String, timeout: Double = 15) throws -> String {
        try expect(anyOf: [text], timeout: timeout)
    }

    /// Waits until one of `texts` appears after the previous match (the first to appear).
    @discardableResult
    func expect(anyOf texts: [String], timeout: Double = 15) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        let text = texts.joined(separator: "» or «")
        while true {
            let found = texts.compactMap { screen[mark...].range(of: $0) }.min { $0.lowerBound < $1.lowerBound }
            if let range = found {
                let before = String(screen[mark..<range.lowerBound])
                mark = range.upperBound
                return before
            }
            guard Date() < deadline, read(until: deadline) else {
                throw Timeout(waitingFor: text, screen: String(screen[mark...]), tail: Array(raw.suffix(300)))
            }
        }
    }

    /// Whatever arrives within `seconds` (to check that something does not appear).
    func settle(_ seconds: Double = 0.5) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, read(until: deadline) {}
        return String(screen[mark...])
    }

    /// Reads what is there (waiting up to `deadline`); false once the program closed the terminal.
    private func read(until deadline: Date) -> Bool {
        var fds = pollfd(fd: controller, events: Int16(POLLIN), revents: 0)
        let wait = max(0, Int32(deadline.timeIntervalSinceNow * 1000))
        let ready = poll(&fds, 1, min(wait, 100))
        if ready <= 0 { return ready == 0 || errno == EINTR }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(controller, $0.baseAddress, $0.count) }
        guard n > 0 else { return false }
        raw += buffer[0..<n]
        screen += Self.text(Array(buffer[0..<n]))
        return true
    }

    /// Terminal output as text: CSI and other escape sequences and carriage returns dropped.
    static func text(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x1B {
                i += 1
                if i < bytes.count && bytes[i] == UInt8(ascii: "[") {
                    i += 1
                    while i < bytes.count && !(0x40...0x7E).contains(bytes[i]) { i += 1 }
                }
                i += 1
            } else if b == 0x0D || b == 0x07 || b == 0x08 {
                i += 1
            } else {
                out.append(b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Everything the program wrote, as it wrote it (escape sequences included).
    var output: [UInt8] { raw }

    /// Waits for the program to exit; its status.
    func waitForExit(timeout: Double = 15) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            _ = read(until: Date().addingTimeInterval(0.05))
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                exitStatus = code
                return code
            }
        }
        throw Timeout(waitingFor: "the program to exit", screen: String(screen[mark...]), tail: Array(raw.suffix(300)))
    }
}
