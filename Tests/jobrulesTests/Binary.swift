import Foundation

/// A built executable of this package, run as a user would.
struct Binary {
    let url: URL

    /// The executable `name` beside the test bundle (built by `swift build`).
    init(_ name: String) throws {
        let bundle = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        url = bundle.deletingLastPathComponent().appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw BinaryMissing(path: url.path)
        }
    }

    /// Any executable, run the same way (`/bin/sh`, `setpriv`).
    init(path: String) { url = URL(fileURLWithPath: path) }

    struct BinaryMissing: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) is not built: run `swift build` before `swift test` (scripts/test does)" }
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// It ran past the run's `timeout` and was killed.
        var timedOut = false
        /// Wall seconds it took.
        var seconds = 0.0
    }

    /// Runs with `arguments` in `directory`; standard input is `input` (a pipe), or empty.
    /// Past `timeout` seconds, the process is killed (`timedOut`): a test of a
    /// limit never hangs the suite when the limit doesn't hold.
    func run(
        _ arguments: [String], in directory: URL? = nil, input: String? = nil, timeout: Double? = nil,
        environment: [String: String]? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        let started = Date()
        try process.run()
        let watchdog = Watchdog(pid: process.processIdentifier)
        if let timeout { DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { watchdog.fire() } }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        // Read both pipes while the process runs so neither fills up.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        watchdog.exited()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), timedOut: watchdog.killed, seconds: Date().timeIntervalSince(started))
    }
}

/// Kills a process that runs too long, unless it was seen to end first
/// (its pipes closed: it exited or is exiting, and is not yet reaped).
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private let pid: Int32
    private var done = false
    private var didKill = false
    var killed: Bool { lock.withLock { didKill } }

    init(pid: Int32) { self.pid = pid }

    func fire() {
        lock.withLock {
            guard !done else { return }
            didKill = true
            kill(pid, SIGKILL)
        }
    }

    func exited() { lock.withLock { done = true } }
}

/// Runs a tool of the machine (found on PATH) with `arguments` in `directory`;
/// its status and its standard output and error together.
func runTool(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

/// A fresh directory for one test, removed at the end.
final class Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("jobrules-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }
}
