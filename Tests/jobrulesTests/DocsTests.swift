import Foundation
import Testing

/// Every command the README and `docs/` show, run as they show it, and the
/// outputs they show checked against what the commands print: docs that
/// drift are defects.
///
/// Each page runs in a fresh folder, in page order, at the clock the docs
/// are written at (`JOBRULES_NOW`):
/// - the lines of its ```sh blocks, through `/bin/sh` with the built
///   `jobrules` first on `PATH`; a line must exit 0 unless it ends with
///   `# exit N`; lines that start with `scripts/` (the set-up commands) are
///   run by CI and the demo's test instead;
/// - the ```lua blocks whose first line names a file (`-- rules/05-vip.lua`),
///   and any block after `<!-- file: NAME -->`, written to that file;
/// - a block after `<!-- output -->`: its lines are lines the command
///   before it printed, one after the other; a line `…` stands for any
///   number of lines left out.
/// A page whose first command isn't `jobrules init` runs in a folder
/// `jobrules init` made; the repository's `scripts/` is linked there.
@Suite struct DocsTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The clock of every example in the docs.
    static let clock = "2026-11-21T09:30:00Z"

    static var pages: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: repository.appendingPathComponent("docs").path)) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }

    /// A step of a page: a shell line (with the status it must exit with), a
    /// file to write, or lines the previous command must have printed.
    enum Step {
        case command(String, status: Int32)
        case file(String, String)
        case output([String])
    }

    static func steps(of text: String) -> [Step] {
        var steps: [Step] = []
        var block: (language: String, lines: [String], marker: String?)?
        var marker: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                if let open = block {
                    if let name = open.marker, name.hasPrefix("file: ") {
                        steps.append(.file(String(name.dropFirst(6)), open.lines.joined(separator: "\n") + "\n"))
                    } else if open.marker == "output" {
                        steps.append(.output(open.lines))
                    } else if open.language == "sh" {
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
                    block = (String(line.dropFirst(3)), [], marker)
                    marker = nil
                }
            } else if block != nil {
                block?.lines.append(line)
            } else if line.hasPrefix("<!-- "), line.hasSuffix(" -->") {
                marker = String(line.dropFirst(5).dropLast(4))
            } else if !line.trimmingCharacters(in: .whitespaces).isEmpty {
                marker = nil  // a marker goes right before its block
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
        try manager.createSymbolicLink(
            at: scratch.url.appendingPathComponent("scripts"), withDestinationURL: Self.repository.appendingPathComponent("scripts"))
        let firstCommand = steps.lazy.compactMap { step -> String? in
            if case .command(let line, _) = step { return line }
            return nil
        }.first
        if firstCommand?.hasPrefix("jobrules init") != true {
            try #require(try jobrules.run(["init", "--now", Self.clock], in: scratch.url).status == 0)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["JOBRULES_NOW"] = Self.clock
        environment["PATH"] = jobrules.url.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["NO_COLOR"] = "1"
        environment["JOBRULES_HISTORY"] = ""
        let shell = Binary(path: "/bin/sh")
        var ran = 0
        var printed: (command: String, lines: [String])?
        for step in steps {
            switch step {
            case .file(let path, let content):
                let url = scratch.url.appendingPathComponent(path)
                try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try content.write(to: url, atomically: true, encoding: .utf8)
            case .command(let line, let status):
                let result = try shell.run(["-c", line], in: scratch.url, timeout: 120, environment: environment)
                #expect(result.status == status, "\(page): `\(line)` exited \(result.status):\n\(result.stdout)\(result.stderr)")
                printed = (line, (result.stdout + result.stderr).split(separator: "\n", omittingEmptySubsequences: false).map {
                    $0.trimmingTrailingSpaces()
                })
                ran += 1
            case .output(let shown):
                guard let (command, lines) = printed else {
                    Issue.record("\(page): an output block before any command")
                    continue
                }
                var at = 0
                var gap = true  // the first line shown may come after others
                for line in shown.map({ Substring($0).trimmingTrailingSpaces() }) {
                    if line.trimmingCharacters(in: .whitespaces) == "…" {
                        gap = true
                        continue
                    }
                    let found = gap ? lines[at...].firstIndex(of: line) : (at < lines.count && lines[at] == line ? at : nil)
                    guard let found else {
                        Issue.record("\(page): `\(command)` did not print, at this point, the line shown:\n\(line)\n--- it printed:\n\(lines.joined(separator: "\n"))")
                        break
                    }
                    at = found + 1
                    gap = false
                }
            }
        }
        if page == "README.md" || page.hasPrefix("docs/command-line") || page.hasPrefix("docs/import") {
            #expect(ran > 3, "\(page) shows commands")
        }
    }
}

extension Substring {
    func trimmingTrailingSpaces() -> String {
        var end = endIndex
        while end > startIndex, self[index(before: end)] == " " { end = index(before: end) }
        return String(self[..<end])
    }
}
