import LuaHost

/// Collects what `print` writes.
final class PrintedOutput {
    var bytes: [UInt8] = []
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// A sandboxed VM whose `print` goes to the returned buffer.
func makeLua(limits: LuaLimits = .default) throws -> (LuaState, PrintedOutput) {
    let output = PrintedOutput()
    let lua = try LuaState(limits: limits) { output.bytes.append(contentsOf: $0) }
    return (lua, output)
}

/// Runs `source` and returns the error it must raise.
func expectError(_ lua: LuaState, _ source: String, chunkName: String = "=test") -> LuaError? {
    do {
        try lua.execute(source, chunkName: chunkName)
        return nil
    } catch {
        return error
    }
}
