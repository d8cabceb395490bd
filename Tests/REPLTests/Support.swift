import Foundation
import LuaHost
import Marketplace
@testable import REPL

/// A REPL on a copy of the sample store in a fresh directory (no terminal: its
/// parts are driven directly).
final class Bench {
    let directory: URL
    let repl: REPL

    /// 2026-11-21T09:30:00Z
    static let now: UnixTime = 1_795_253_400

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jobrules-repl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("store.json").path
        try JSONStoreFile(path: path).create(Store.sample(now: Self.now))
        repl = try REPL(
            options: REPLOptions(
                store: path, now: Self.now, limits: LuaLimits(timeout: .seconds(5), memory: 64 << 20), rules: [],
                lockTimeout: 1, history: nil, color: false))
    }

    deinit {
        repl.close()
        try? FileManager.default.removeItem(at: directory)
    }

    var lua: LuaState { repl.lua }

    /// Runs `code` and renders its first result as the prompt would.
    func show(_ code: String, _ printer: ValuePrinter = ValuePrinter()) throws -> String {
        try lua.execute(bytes: Array(("return " + code).utf8), chunkName: "=test") { call, results in
            results.first.map { printer.render(call, $0) } ?? "nothing"
        }
    }

    /// The completions of `word` after `before`.
    func complete(_ before: String, _ word: String = "") -> [String] {
        Completer(lua: lua) { [repl] in repl.completionValues($0) }.complete(before: before, word: word).map(\.name)
    }
}
