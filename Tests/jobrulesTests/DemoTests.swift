import Foundation
import Testing

/// `scripts/demo`, the README's first command: its jobrules commands, as the
/// script has them, run in turn on a scratch copy, each must succeed.
@Suite struct DemoTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func theDemosCommandsSucceed() throws {
        let jobrules = try Binary("jobrules")
        let scratch = try Scratch()
        let script = try String(contentsOf: Self.repository.appendingPathComponent("scripts/demo"), encoding: .utf8)
        let commands = script.split(separator: "\n").filter { $0.hasPrefix("\"$jobrules\" ") }
            .map { $0.dropFirst("\"$jobrules\" ".count).split(separator: " ").map(String.init) }
        #expect(commands.count >= 4)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent(".demo"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("docs"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Self.repository.appendingPathComponent("docs/sample-events.jsonl"),
            to: scratch.url.appendingPathComponent("docs/sample-events.jsonl"))
        try FileManager.default.createSymbolicLink(
            at: scratch.url.appendingPathComponent("rules"), withDestinationURL: Self.repository.appendingPathComponent("rules"))
        for arguments in commands {
            let result = try jobrules.run(arguments, in: scratch.url, timeout: 60)
            #expect(result.status == 0, "jobrules \(arguments.joined(separator: " ")): \(result.stderr)")
        }
    }
}
