import CLua
import CLuaShim

#if canImport(Glibc)
    import Glibc
#endif

/// Limits that a chunk cannot escape, not even with `pcall`.
public struct LuaLimits: Sendable, Equatable {
    /// Wall time allowed to one call into Lua from the host (a script, one rule on one item); nil: none.
    public var timeout: Duration?
    /// Bytes the VM's heap may hold; nil: none.
    public var memory: Int?

    public init(timeout: Duration? = .seconds(10), memory: Int? = 512 << 20) {
        self.timeout = timeout
        self.memory = memory
    }

    public static let `default` = LuaLimits()
    public static let none = LuaLimits(timeout: nil, memory: nil)
}

/// One Lua VM, sandboxed. It has one owner and is closed explicitly (or when
/// released). It is not thread-safe: use it from one thread at a time.
public final class LuaState {
    let host: UnsafeMutablePointer<jr_host>
    /// The main thread; nil once closed.
    public private(set) var state: OpaquePointer?
    public var limits: LuaLimits {
        didSet {
            host.pointee.limit = Self.heapLimit(limits)
            timeoutNanoseconds = limits.timeout.map(Self.nanoseconds)
        }
    }
    /// Targets handed to C (functions, types, the output); released after the VM.
    var retained: [AnyObject] = []
    var objectTypes: [any LuaRegisteredTypeProtocol] = []
    var depth = 0
    let output: OutputBox

    /// Opens a sandboxed VM. `output` receives what `print` writes.
    public init(limits: LuaLimits = .default, output: @escaping (UnsafeRawBufferPointer) -> Void = LuaState.standardOutput)
        throws(LuaError)
    {
        host = UnsafeMutablePointer<jr_host>.allocate(capacity: 1)
        host.initialize(to: jr_host())
        self.limits = limits
        timeoutNanoseconds = limits.timeout.map(Self.nanoseconds)
        self.output = OutputBox(output)
        guard let L = jr_newstate(host) else {
            host.deinitialize(count: 1)
            host.deallocate()
            throw LuaError(kind: .setup, message: "cannot create a Lua state (out of memory)")
        }
        state = L
        host.pointee.dispatch = hostDispatch
        host.pointee.output = { context, bytes, length in
            guard let context, let bytes else { return }
            Unmanaged<OutputBox>.fromOpaque(context).takeUnretainedValue().write(
                UnsafeRawBufferPointer(start: bytes, count: length))
        }
        host.pointee.output_context = Unmanaged.passUnretained(self.output).toOpaque()
        // The sandbox is built without a memory limit: it is the host's, not the script's.
        let status = jr_open_sandbox(L)
        if status != LUA_OK {
            let message = String(cString: lua_tolstring(L, -1, nil))
            close()
            throw LuaError(kind: .setup, message: "cannot build the sandbox: \(message)")
        }
        host.pointee.limit = Self.heapLimit(limits)
    }

    /// Closes the VM: runs finalizers, frees all memory. Further use fails.
    public func close() {
        guard state != nil else { return }
        jr_close(host)
        state = nil
        retained.removeAll()
        objectTypes.removeAll()
        host.deinitialize(count: 1)
        host.deallocate()
    }

    deinit { close() }

    /// `limits.timeout` in nanoseconds, worked out once: every call into Lua
    /// arms it, and taking a `Duration` apart each time was 2% of a rule run.
    private var timeoutNanoseconds: Int64?

    static func nanoseconds(_ timeout: Duration) -> Int64 {
        let nanoseconds = timeout.components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return nanoseconds.overflow ? Int64.max / 2 : nanoseconds.partialValue + timeout.components.attoseconds / 1_000_000_000
    }

    static func heapLimit(_ limits: LuaLimits) -> Int {
        guard let memory = limits.memory else { return 0 }
        return max(1, memory)
    }

    public var isClosed: Bool { state == nil }

    /// Bytes the VM's heap holds now.
    public var memoryInUse: Int { state == nil ? 0 : Int(host.pointee.used) }
    /// The most bytes the VM's heap has held.
    public var peakMemory: Int { state == nil ? 0 : Int(host.pointee.peak) }

    /// Counts what the host holds for scripts against the memory limit:
    /// `counter` is a running total of bytes, and what it gains during an
    /// outermost call into Lua counts with that call's heap (nil: nothing).
    /// `owner` keeps the counter's memory alive while the state reads it.
    public func countHostMemory(_ counter: UnsafePointer<Int>?, owner: AnyObject?) {
        guard state != nil else { return }
        heldCounterOwner = owner
        host.pointee.held_counter = counter
        host.pointee.held_base = counter?.pointee ?? 0
        host.pointee.held_now = 0
    }

    /// A deadline for every call, on `jr_monotonic_ns`'s clock, whatever the
    /// time limit allows each (a batch's `--max-run-time`): a call still
    /// running then stops with `.deadline`. nil: none.
    public var deadline: Int64?

    /// Now, on the clock of `deadline`.
    public static func monotonicNanoseconds() -> Int64 { jr_monotonic_ns() }

    private var heldCounterOwner: AnyObject?

    /// Outermost calls into Lua made so far: a host function can tell which
    /// call it is part of (to count what one call does).
    public private(set) var outermostCalls: UInt64 = 0

    /// Asks the running chunk to stop at its next instruction (Ctrl-C).
    public func interrupt() {
        guard state != nil else { return }
        jr_request_stop(host, Int32(JR_STOP_INTERRUPT))
    }

    /// `print` to the process's standard error (what was printed to
    /// standard output before comes first).
    public static func standardError(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        fflush(jr_stdout())
        fwrite(base, 1, bytes.count, jr_stderr())
    }

    /// `print` to the process's standard output.
    public static func standardOutput(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        fwrite(base, 1, bytes.count, jr_stdout())
    }

    func requireOpen() throws(LuaError) -> OpaquePointer {
        guard let state else { throw LuaError(kind: .setup, message: "the Lua state is closed") }
        return state
    }

    // MARK: Running code

    /// Compiles `source` (text only, never binary chunks) as a function left on the stack.
    /// `chunkName` follows Lua: `@file.lua` for files, `=name` for other sources.
    func load(_ source: [UInt8], chunkName: String) throws(LuaError) {
        let L = try requireOpen()
        let status = source.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                jr_load(L, chars.baseAddress, chars.count, chunkName)
            }
        }
        if status != LUA_OK {
            throw popError(L, status: status, stop: Int32(JR_STOP_NONE))
        }
    }

    /// Compiles a chunk without running it; throws its syntax error.
    public func compile(_ source: String, chunkName: String) throws(LuaError) {
        try compile(bytes: Array(source.utf8), chunkName: chunkName)
    }

    public func compile(bytes: [UInt8], chunkName: String) throws(LuaError) {
        let L = try requireOpen()
        try load(bytes, chunkName: chunkName)
        jr_pop(L, 1)
    }

    /// Compiles and runs `source`, returning what the chunk returns.
    @discardableResult
    public func execute(_ source: String, chunkName: String = "=(host)") throws(LuaError) -> [LuaValue] {
        try execute(bytes: Array(source.utf8), chunkName: chunkName)
    }

    /// Compiles and runs `bytes`, returning what the chunk returns.
    @discardableResult
    public func execute(bytes: [UInt8], chunkName: String) throws(LuaError) -> [LuaValue] {
        let L = try requireOpen()
        let base = lua_gettop(L)
        try load(bytes, chunkName: chunkName)
        do {
            try protectedCall(arguments: 0, results: LUA_MULTRET)
        } catch {
            throw Self.locate(error, inChunk: chunkName)
        }
        defer { lua_settop(L, base) }
        var results: [LuaValue] = []
        let top = lua_gettop(L)
        if top > base {
            results.reserveCapacity(Int(top - base))
            for index in (base + 1)...top { results.append(try value(at: index)) }
        }
        return results
    }

    /// Calls the global function `name` with `arguments`, returning its results.
    @discardableResult
    public func call(global name: String, _ arguments: LuaValue...) throws(LuaError) -> [LuaValue] {
        let L = try requireOpen()
        let base = lua_gettop(L)
        jr_pushglobaltable(L)
        lua_getfield(L, -1, name)  // may run __index: the globals' __index is a table, never code
        jr_remove(L, -2)
        guard lua_type(L, -1) == LUA_TFUNCTION else {
            let type = String(cString: jr_typename_at(L, -1))
            lua_settop(L, base)
            throw LuaError(kind: .runtime, message: "attempt to call a \(type) value (global '\(name)')")
        }
        for argument in arguments { try push(argument) }
        try protectedCall(arguments: Int32(arguments.count), results: LUA_MULTRET)
        defer { lua_settop(L, base) }
        var results: [LuaValue] = []
        let top = lua_gettop(L)
        if top > base { for index in (base + 1)...top { results.append(try value(at: index)) } }
        return results
    }

    /// Calls the function below `arguments` values on the stack through the
    /// protected call. On the outermost call the limits are armed and reset.
    public func protectedCall(on thread: OpaquePointer? = nil, arguments: Int32, results: Int32) throws(LuaError) {
        let main = try requireOpen()
        let L = thread ?? main
        let outermost = depth == 0
        if outermost {
            host.pointee.active_count = 0
            outermostCalls &+= 1
            if let counter = host.pointee.held_counter { host.pointee.held_base = counter.pointee }
            host.pointee.held_now = 0
            var stopAt = timeoutNanoseconds.map { jr_monotonic_ns() + $0 }
            if let deadline { stopAt = min(stopAt ?? deadline, deadline) }
            if let stopAt {
                let err = jr_arm_deadline(host, stopAt)
                if err != 0 {
                    jr_pop(L, arguments + 1)
                    throw LuaError(kind: .setup, message: "cannot arm the time limit: \(String(cString: strerror(err)))")
                }
            }
        }
        depth += 1
        let status = jr_pcall(L, arguments, results)
        depth -= 1
        var stop = Int32(JR_STOP_NONE)
        var held = 0
        if outermost {
            held = Int(jr_held(host))
            jr_disarm_deadline(host)
            stop = Int32(host.pointee.stop_reason)
            jr_clear_stop(host)
            host.pointee.active_count = 0
            if stop == Int32(JR_STOP_MEMORY) || status == LUA_ERRMEM {
                // What the stopped chunk held is garbage now: the next call starts clean.
                jr_collectgarbage(main)
                host.pointee.memory_recovered = 0
            }
        }
        if status != LUA_OK {
            throw popError(L, status: status, stop: stop, held: held)
        }
    }

    /// Turns the error on top of the stack into a `LuaError` and pops it.
    /// `held`: what the host held for the call (see `countHostMemory`).
    func popError(_ L: OpaquePointer, status: Int32, stop: Int32, held: Int = 0) -> LuaError {
        var message: String
        if lua_type(L, -1) == LUA_TSTRING {
            var length = 0
            let chars = lua_tolstring(L, -1, &length)
            message = chars.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
        } else {
            message = "(error object is a \(String(cString: jr_typename_at(L, -1))) value)"
        }
        jr_pop(L, 1)
        var traceback: String?
        jr_push_traceback(L)
        if lua_type(L, -1) == LUA_TSTRING { traceback = String(cString: lua_tolstring(L, -1, nil)) }
        jr_pop(L, 1)
        var chunk: String?
        var line: Int?
        if host.pointee.error_line > 0 {
            chunk = withUnsafeBytes(of: host.pointee.error_source) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            line = Int(host.pointee.error_line)
        } else if let (c, l) = Self.position(in: message) {
            chunk = c
            line = l
        }
        var kind: LuaError.Kind
        switch status {
        case LUA_ERRSYNTAX: kind = .syntax
        case LUA_ERRMEM: kind = .memory
        case LUA_ERRERR: kind = .errorHandling
        default: kind = .runtime
        }
        let stopped: (kind: LuaError.Kind, what: String, limit: String?)?
        switch stop {
        case Int32(JR_STOP_TIME) where deadline.map { jr_monotonic_ns() >= $0 } ?? false:
            stopped = (.deadline, "the run's time is up", nil)
        case Int32(JR_STOP_TIME):
            stopped = (.timeLimit, "time limit exceeded", limits.timeout.map(Self.describe))
        case Int32(JR_STOP_MEMORY):
            // Say so when the changes the call made, not the heap, took most of it.
            let limit = limits.memory.map { limit in
                Self.describe(bytes: limit) + (held > limit / 2 ? "; \(Self.describe(approximately: held)) of it held by the changes this call made" : "")
            }
            stopped = (.memory, "memory limit exceeded", limit)
        case Int32(JR_STOP_INTERRUPT):
            stopped = (.interrupted, "interrupted", nil)
        default:
            stopped = kind == .memory ? (.memory, "memory limit exceeded", limits.memory.map(Self.describe(bytes:))) : nil
        }
        if let stopped {
            // Whatever a script's pcall did with the first error, say what stopped it and where.
            kind = stopped.kind
            let what = stopped.limit.map { "\(stopped.what) (\($0))" } ?? stopped.what
            if let chunk, let line {
                message = "\(chunk):\(line): \(what)"
            } else if let chunk {
                message = "\(chunk): \(what)"
            } else {
                message = what
            }
        }
        return LuaError(kind: kind, message: message, chunk: chunk, line: line, traceback: traceback)
    }

    /// An error that Lua raised with no position (memory errors) names the chunk at least.
    static func locate(_ error: LuaError, inChunk chunkName: String) -> LuaError {
        guard error.chunk == nil, position(in: error.message) == nil else { return error }
        var error = error
        let chunk = chunkName.hasPrefix("@") || chunkName.hasPrefix("=") ? String(chunkName.dropFirst()) : chunkName
        error.chunk = chunk
        error.message = "\(chunk): \(error.message)"
        return error
    }

    /// `chunk:LINE:` at the start of a Lua message.
    static func position(in message: String) -> (String, Int)? {
        // Lua's prefix is `short_src:line: `; short_src may itself contain ':'.
        var search = message[...]
        while let colon = search.firstIndex(of: ":") {
            let afterColon = message.index(after: colon)
            let digits = message[afterColon...].prefix(while: { $0.isASCII && $0.isNumber })
            if !digits.isEmpty, message[digits.endIndex...].hasPrefix(":"), let line = Int(digits) {
                return (String(message[..<colon]), line)
            }
            search = message[afterColon...]
        }
        return nil
    }

    /// `10 s`, `0.3 s`, `0.0004 s`: whole nanoseconds, in plain decimals.
    public static func describe(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        let nanoseconds = duration.components.attoseconds / 1_000_000_000
        guard nanoseconds > 0 else { return "\(seconds) s" }
        var fraction = String(nanoseconds)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(seconds).\(fraction) s"
    }

    /// `512 MiB`, `3.5 MiB`, `900 KiB`: a measured size, rounded.
    static func describe(approximately bytes: Int) -> String {
        if bytes >= 1 << 20 { return "\((Double(bytes) / Double(1 << 20) * 10).rounded() / 10) MiB" }
        return "\((bytes + 1023) / 1024) KiB"
    }

    public static func describe(bytes: Int) -> String {
        let units = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, unit) in units where bytes >= size && bytes % size == 0 { return "\(bytes / size) \(unit)" }
        return "\(bytes) bytes"
    }
}

/// What `print` writes to, kept alive by the state.
final class OutputBox {
    let sink: (UnsafeRawBufferPointer) -> Void
    /// While set, what is printed is kept here instead (up to `heldLimit` bytes).
    var held: [UInt8]?
    var heldCut = false
    static let heldLimit = 1 << 20
    init(_ sink: @escaping (UnsafeRawBufferPointer) -> Void) { self.sink = sink }

    func write(_ bytes: UnsafeRawBufferPointer) {
        guard held != nil else { return sink(bytes) }
        let room = Self.heldLimit - (held?.count ?? 0)
        if bytes.count > room { heldCut = true }
        held?.append(contentsOf: bytes.prefix(max(0, room)))
    }
}

extension LuaState {
    /// Keeps what is printed from now on until `releaseOutput`, which writes
    /// it out or drops it (the first MiB is kept; the rest is cut with a note).
    public func holdOutput() {
        output.held = []
        output.heldCut = false
    }

    public func releaseOutput(write: Bool) {
        guard let held = output.held else { return }
        output.held = nil
        guard write else { return }
        held.withUnsafeBytes { output.sink($0) }
        if output.heldCut { Array("\n… (output cut at 1 MiB)\n".utf8).withUnsafeBytes { output.sink($0) } }
    }
}
