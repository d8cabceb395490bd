import Foundation
import LuaHost
import Marketplace
import RuleEngine
import Testing

/// A session on a store, with helpers to evaluate Lua and read errors.
final class Lab {
    let session: Session
    var store: Store { session.store }

    init(_ store: Store, now: UnixTime = Lab.now) throws {
        let box = OutputCollector()
        session = try Session(store: store, now: now, limits: LuaLimits(timeout: .seconds(5), memory: 64 << 20)) { bytes in
            box.text += String(decoding: bytes, as: UTF8.self)
        }
        collector = box
    }

    private let collector: OutputCollector
    var output: String { collector.text }

    deinit { session.close() }

    /// 2026-11-27T09:00:00Z
    static let now: UnixTime = 1_795_770_000

    /// The sample store of `jobrules init`, at `now`.
    static func sample() throws -> Lab { try Lab(Store.sample(now: now)) }

    /// Runs `code` as a chunk named `test.lua`; its results.
    @discardableResult
    func run(_ code: String) throws -> [LuaValue] {
        try session.run(file: "test.lua", source: Array(code.utf8))
    }

    /// The value of the expression `code`.
    func eval(_ code: String) throws -> LuaValue {
        try run("return " + code).first ?? .nil
    }

    /// The error message `code` raises (Issue recorded when it raises none).
    func error(_ code: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            try run(code)
            Issue.record("expected an error from: \(code)", sourceLocation: sourceLocation)
            return ""
        } catch let error as LuaError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    /// Runs rule files (paths relative to the repository) and then their rules.
    func runRules(files: [String], failFast: Bool = false) throws -> RunOutcome {
        for file in files {
            let url = Lab.repository.appendingPathComponent(file)
            try session.run(file: file, source: Array(try Data(contentsOf: url)))
        }
        return session.run(session.rules, failFast: failFast)
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}

final class OutputCollector: @unchecked Sendable {
    var text = ""
}

extension LuaValue {
    var string: String? { if case .string(let s) = self { s.text } else { nil } }
    var integer: Int64? { if case .integer(let i) = self { i } else { nil } }
}
