import CLua
import CLuaShim

#if canImport(Glibc)
    import Glibc
#endif

/// Ctrl-C for an interactive host: once installed, SIGINT stops the chunk a
/// state runs inside `LuaState.interruptible`, and is reported through a
/// pipe to whoever waits for input.
public enum LuaInterrupts {
    /// Installs the SIGINT handler (idempotent).
    public static func install() throws(LuaError) {
        let code = jr_interrupts_install()
        if code != 0 {
            throw LuaError(kind: .setup, message: "cannot catch Ctrl-C: \(String(cString: strerror(code)))")
        }
    }

    /// Readable when a SIGINT came (poll it next to the terminal).
    public static var fileDescriptor: Int32 { jr_interrupts_fd() }

    /// Whether a SIGINT came since the last call (clears it).
    @discardableResult
    public static func take() -> Bool { jr_interrupts_take() != 0 }
}

/// What a host object at some stack index is, for display and completion.
public struct LuaObjectInfo: Sendable {
    public let type: String
    /// Field names in declaration order.
    public let fields: [String]
    public let methods: [String]
}

extension LuaState {
    /// Before waiting for a person: the time limit's timer, left armed after
    /// a call for speed (a late expiry finds no deadline and does nothing),
    /// is stopped so that it doesn't interrupt the wait.
    public func idle() {
        guard state != nil else { return }
        jr_quiesce_timer(host)
    }

    /// Runs `body` with SIGINT stopping whatever this state runs in it (the
    /// protected call then fails with `.interrupted`).
    public func interruptible<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        guard state != nil else { return try body() }
        jr_clear_stop(host)
        jr_interrupts_target(host)
        // A Ctrl-C that came after the input was read but before the target
        // was set (the pipe still holds it) stops this body as soon as it runs.
        if LuaInterrupts.take() { jr_request_stop(host, Int32(JR_STOP_INTERRUPT)) }
        defer {
            jr_interrupts_target(nil)
            jr_clear_stop(host)
        }
        return try body()
    }

    /// Compiles and runs `bytes`, then hands its results, still on the stack
    /// (their absolute indices), to `inspect` before they are popped.
    /// `inspect` works as host functions do: raw access, allocations don't fail.
    public func execute<T>(
        bytes: [UInt8], chunkName: String, inspect: (LuaCall, [Int32]) -> T
    ) throws(LuaError) -> T {
        let L = try requireOpen()
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        try load(bytes, chunkName: chunkName)
        do {
            try protectedCall(arguments: 0, results: LUA_MULTRET)
        } catch {
            throw Self.locate(error, inChunk: chunkName)
        }
        let top = lua_gettop(L)
        let indices = top > base ? Array((base + 1)...top) : []
        return hostWork { inspect(LuaCall(state: L, lua: self), indices) }
    }

    /// Runs `body` on the main stack as host work (raw access only; allocations
    /// don't fail); the stack is restored afterwards.
    public func inspect<T>(_ body: (LuaCall) -> T) throws(LuaError) -> T {
        let L = try requireOpen()
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        return hostWork { body(LuaCall(state: L, lua: self)) }
    }

    func hostWork<T>(_ body: () -> T) -> T {
        host.pointee.in_host += 1
        defer { host.pointee.in_host -= 1 }
        return body()
    }

    /// The fields and methods of the registered host object type named `name`.
    public func objectInfo(typeName name: String) -> LuaObjectInfo? {
        guard let type = objectTypes.first(where: { $0.name == name }) as? LuaObjectClassBase else { return nil }
        return LuaObjectInfo(type: type.name, fields: type.declaredFields, methods: type.methodNames)
    }

    /// Runs `source`, a chunk returning a function, and keeps that function.
    public func function(_ source: String, chunkName: String) throws(LuaError) -> LuaReference {
        let L = try requireOpen()
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        try load(Array(source.utf8), chunkName: chunkName)
        try protectedCall(arguments: 0, results: 1)
        guard lua_type(L, -1) == LUA_TFUNCTION else {
            throw LuaError(kind: .setup, message: "\(chunkName) does not return a function")
        }
        return LuaReference(ref: luaL_ref(L, jr_registryindex()))
    }
}

extension LuaCall {
    /// Pushes a copy of the value at `n`.
    public func pushCopy(of n: Int32) { lua_pushvalue(state, n) }

    /// The type, fields and methods of the host object at `n`, or nil.
    public func objectInfo(_ n: Int32) -> LuaObjectInfo? {
        guard let type = lua.objectType(id: jr_objecttype(state, n)) as? LuaObjectClassBase else { return nil }
        return LuaObjectInfo(type: type.name, fields: type.declaredFields, methods: type.methodNames)
    }

    /// What `tostring` shows for the host object at `n` (its summary), or nil.
    public func objectDescription(_ n: Int32) -> String? {
        let typeID = jr_objecttype(state, n)
        guard let type = lua.objectType(id: typeID) as? LuaObjectClassBase,
            let raw = jr_toobject(state, n, typeID)
        else { return nil }
        return type.describe(raw)
    }
}
