import Foundation
import Testing

/// The editor and lint support around the rules: luacheck is clean, and the
/// LuaLS annotations describe what the API really has.
@Suite struct LuaToolingTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func luacheckIsCleanOnRulesAndScripts() throws {
        let (status, text) = try runTool(["luacheck", "--no-color", "--formatter", "plain", "rules", "scripts"], in: Self.repository)
        #expect(status == 0, "luacheck (Debian's lua-check, installed by scripts/ensure-deps): \(text)")
    }

    @Test func everyAnnotatedFieldAndMethodExists() throws {
        let meta = try String(contentsOf: Self.repository.appendingPathComponent("types/jobrules.lua"), encoding: .utf8)
        // Each annotated class with the expression that gives one of its objects.
        let samples = [
            "Job": "jobs.get('J-1013')", "Member": "members.get('m1')", "Merchant": "merchants.get('mer1')",
            "Message": "jobs.get('J-1013').last_message", "Contact": "contacts.all()[1]", "Email": "outbox.all()[1]",
            "Order": "orders.get('O-7')", "Agency": "agency",
        ]
        var probe = ""
        var checked = 0
        for (name, expression) in samples {
            guard let start = meta.range(of: "---@class jobrules.\(name)\n") else {
                Issue.record("types/jobrules.lua has no class jobrules.\(name)")
                continue
            }
            let rest = meta[start.upperBound...]
            let block = rest[..<(rest.range(of: "\n\n")?.lowerBound ?? rest.endIndex)]
            var members: [String] = []
            for line in block.split(separator: "\n") {
                if line.hasPrefix("---@field ") {
                    members.append(String(line.dropFirst(10).prefix { $0 != " " && $0 != "?" }))
                }
            }
            for line in meta.split(separator: "\n") where line.hasPrefix("function \(name):") {
                members.append(String(line.dropFirst("function \(name):".count).prefix { $0 != "(" }))
            }
            for member in members {
                probe += "assert(pcall(function() return (\(expression)).\(member) end), '\(name).\(member)')\n"
                checked += 1
            }
        }
        #expect(checked > 70)
        let scratch = try Scratch()
        let jobrules = try Binary("jobrules")
        #expect(try jobrules.run(["init", "--now", "2026-11-21T09:30:00Z"], in: scratch.url).status == 0)
        try scratch.write("probe.lua", probe)
        let result = try jobrules.run(["exec", "probe.lua", "--now", "2026-11-21T09:30:00Z", "--dry-run"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
    }
}
