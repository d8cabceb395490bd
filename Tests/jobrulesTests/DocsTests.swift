import Foundation
import Testing

/// Every command the README and `docs/` show, run as they show it: docs that
/// drift are defects.
///
/// Each page runs in a fresh folder, in page order: the lines of its ```sh
/// blocks (through `/bin/sh`, with the built `jobrules` first on `PATH`) and
/// the ```lua blocks whose first line names a file (`-- rules/05-vip.lua`),
/// which are written there. A page whose first command isn't `jobrules init`
/// runs in a folder `jobrules init` made; `docs/examples/` is copied in and
/// `scripts/` linked. A line must exit 0 unless it ends with `# exit N`.
/// Lines that start with `scripts/` (the set-up commands) are run by CI and
/// the demo's test instead.
@Suite struct DocsTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var pages: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: repository.appendingPathComponent("docs").path)) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }

    /// A step of a page: a shell line (with the status it must exit with) or a file to write.
    enum Step {
        case command(String, status: Int32)
        case file(String, String)
    }

    static func steps(of text: String) -> [Step] {
        var steps: [Step] = []
        var block: (language: String, lines: [String])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                if let open = block {
                    if open.language == "sh" {
                        for command in open.lines {
                            let trimmed = command.trimmingCharacters(in: .whitespaces)
                            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), !trimmed.hasPrefix("scripts/") else { continue }
                            steps.append(Self.command(trimmed))
                        }
                    } else if open.language == "lua", let first = open.lines.first, first.hasPrefix("-- "),
                        first.dropFirst(3).contains("/") || first.hasSuffix(".lua")
                    {
                        steps.append(.file(String(first.dropFirst(3)), open.lines.joined(separator: "\n") + "\n"))
                    }
                    block = nil
                } else {
                    block = (String(line.dropFirst(3)), [])
                }
            } else if block != nil {
                block?.lines.append(line)
            }
        }
        return steps
    }

    /// `jobrules x   # exit 1: why` → the line and status 1.
    static func command(_ line: String) -> Step {
        guard let marker = line.range(of: "# exit ") else { return .command(line, status: 0) }
        let status = Int32(line[marker.upperBound...].prefix { $0.isNumber }) ?? 0
        return .command(String(line[..<marker.lowerBound]).trimmingCharacters(in: .whitespaces), status: status)
    }

    @Test(arguments: pages)
    func everyCommandOfThePageRuns(_ page: String) throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent(page), encoding: .utf8)
        let steps = Self.steps(of: text)
        let jobrules = try Binary("jobrules")
        let scratch = try Scratch()
        let manager = FileManager.default
        let examples = Self.repository.appendingPathComponent("docs/examples")
        for name in (try? manager.contentsOfDirectory(atPath: examples.path)) ?? [] {
            try manager.copyItem(at: examples.appendingPathComponent(name), to: scratch.url.appendingPathComponent(name))
        }
        try manager.createSymbolicLink(
            at: scratch.url.appendingPathComponent("scripts"), withDestinationURL: Self.repository.appendingPathComponent("scripts"))
        let firstCommand = steps.lazy.compactMap { step -> String? in
            if case .command(let line, _) = step { return line }
            return nil
        }.first
        if firstCommand?.hasPrefix("jobrules init") != true {
            try #require(try jobrules.run(["init"], in: scratch.url).status == 0)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = jobrules.url.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["NO_COLOR"] = "1"
        environment["JOBRULES_HISTORY"] = ""
        let shell = Binary(path: "/bin/sh")
        var ran = 0
        for step in steps {
            switch step {
            case .file(let path, let content):
                let url = scratch.url.appendingPathComponent(path)
                try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try content.write(to: url, atomically: true, encoding: .utf8)
            case .command(let line, let status):
                let result = try shell.run(["-c", line], in: scratch.url, timeout: 120, environment: environment)
                #expect(result.status == status, "\(page): `\(line)` exited \(result.status):\n\(result.stdout)\(result.stderr)")
                ran += 1
            }
        }
        if page == "README.md" || page.hasPrefix("docs/command-line") || page.hasPrefix("docs/import") {
            #expect(ran > 3, "\(page) shows commands")
        }
    }
}
