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
        try FileManager.default.createSymbolicLink(
            at: scratch.url.appendingPathComponent("rules"), withDestinationURL: Self.repository.appendingPathComponent("rules"))
        for arguments in commands {
            let result = try jobrules.run(arguments, in: scratch.url, timeout: 60)
            #expect(result.status == 0, "jobrules \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        // The feed is dated for the store it feeds: the job it brings is worked on, not expired.
        let store = try JSONSerialization.jsonObject(with: Data(contentsOf: scratch.url.appendingPathComponent(".demo/store.json")))
        let jobs = (store as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
        let received = try #require(jobs.first { $0["id"] as? String == "J-1031" })
        #expect(received["status"] as? String == "new")
        #expect((received["assignees"] as? [String])?.isEmpty == false)
    }
}
