/// An error from the Lua VM, as Swift sees it: what kind, the message Lua
/// produced (with its `chunk:line:` prefix), where it happened and the traceback.
public struct LuaError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The chunk did not compile.
        case syntax
        /// An error raised while running (by `error`, by the VM or by a host function).
        case runtime
        /// The memory limit was reached.
        case memory
        /// The time limit was reached.
        case timeLimit = "time limit"
        /// The deadline of the whole run (`LuaState.deadline`) was reached.
        case deadline
        /// The host asked the chunk to stop (Ctrl-C).
        case interrupted
        /// The message handler itself failed.
        case errorHandling = "error handling"
        /// A value could not be converted between Lua and Swift.
        case conversion
        /// The VM could not be set up.
        case setup
    }

    public var kind: Kind
    /// The message, with Lua's `chunk:line:` prefix when Lua gave one.
    public var message: String
    /// The chunk where the error happened (`script.lua`), when known.
    public var chunk: String?
    /// The line in `chunk`, when known.
    public var line: Int?
    /// Lua's `stack traceback:` text, when there is one.
    public var traceback: String?

    public init(kind: Kind, message: String, chunk: String? = nil, line: Int? = nil, traceback: String? = nil) {
        self.kind = kind
        self.message = message
        self.chunk = chunk
        self.line = line
        self.traceback = traceback
    }

    public var description: String { message }

    /// The message followed by the traceback, as `lua` prints an uncaught error.
    public var report: String {
        guard let traceback, !traceback.isEmpty else { return message }
        return message + "\n" + traceback
    }
}

/// What a host function throws to raise a Lua error in its caller. Any other
/// Swift error thrown by a host function is raised with its description.
public enum LuaCallError: Error, Sendable {
    /// `bad argument #N to 'f' (message)`.
    case argument(Int32, String)
    /// `bad argument #N to 'f' (expected expected, got <type>)`.
    case type(Int32, expected: String)
    /// A message, raised with the caller's `chunk:line:` in front.
    case message(String)
    /// A value raised as it is (like `error(value, 0)`).
    case value(LuaValue)
}
