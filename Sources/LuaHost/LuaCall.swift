import CLua
import CLuaShim

/// A Swift function callable from Lua. It reads its arguments from the call,
/// pushes its results and returns how many it pushed. To raise a Lua error it
/// throws (`LuaCallError` for lauxlib's wordings); it never calls `lua_error`.
public typealias LuaFunction = (LuaCall) throws -> Int32

/// The view a host function has of its call: arguments in, results out.
public struct LuaCall {
    /// The running thread (the main one or a coroutine).
    public let state: OpaquePointer
    public unowned(unsafe) let lua: LuaState

    init(state: OpaquePointer, lua: LuaState) {
        self.state = state
        self.lua = lua
    }

    /// The number of arguments.
    public var count: Int32 { lua_gettop(state) }

    public func isNoneOrNil(_ n: Int32) -> Bool { jr_isnoneornil(state, n) != 0 }

    /// Lua's type name of argument `n` (`no value` when absent).
    public func typeName(_ n: Int32) -> String { String(cString: jr_typename_at(state, n)) }

    // MARK: Arguments, with lauxlib's checks and wordings

    /// A string argument (numbers are converted, as `luaL_checkstring` does); must be valid UTF-8.
    public func string(_ n: Int32) throws(LuaCallError) -> String {
        // Validated where Lua keeps it, not copied into an array first.
        guard let text = String(validating: try argumentBytes(n), as: UTF8.self) else {
            throw .argument(n, "string is not valid UTF-8")
        }
        return text
    }

    public func optionalString(_ n: Int32) throws(LuaCallError) -> String? {
        isNoneOrNil(n) ? nil : try string(n)
    }

    /// A string argument as bytes.
    public func bytes(_ n: Int32) throws(LuaCallError) -> [UInt8] {
        Array(try argumentBytes(n))
    }

    /// A string argument's bytes where Lua keeps them (good while the value
    /// stays on the stack); numbers are converted in place, as
    /// `luaL_checkstring` does.
    private func argumentBytes(_ n: Int32) throws(LuaCallError) -> UnsafeBufferPointer<UInt8> {
        let type = lua_type(state, n)
        guard type == LUA_TSTRING || type == LUA_TNUMBER else { throw .type(n, expected: "string") }
        return LuaState.buffer(at: n, on: state)
    }

    /// An integer argument (`luaL_checkinteger`).
    public func integer(_ n: Int32) throws(LuaCallError) -> Int64 {
        var isInteger: Int32 = 0
        let value = lua_tointegerx(state, n, &isInteger)
        if isInteger != 0 { return value }
        if lua_type(state, n) == LUA_TNUMBER { throw .argument(n, "number has no integer representation") }
        throw .type(n, expected: "number")
    }

    public func optionalInteger(_ n: Int32) throws(LuaCallError) -> Int64? {
        isNoneOrNil(n) ? nil : try integer(n)
    }

    /// A number argument (`luaL_checknumber`).
    public func number(_ n: Int32) throws(LuaCallError) -> Double {
        var isNumber: Int32 = 0
        let value = lua_tonumberx(state, n, &isNumber)
        if isNumber != 0 { return value }
        throw .type(n, expected: "number")
    }

    /// Lua's truth of argument `n` (nil and false are false).
    public func truth(_ n: Int32) -> Bool { lua_toboolean(state, n) != 0 }

    /// A boolean argument, strictly.
    public func boolean(_ n: Int32) throws(LuaCallError) -> Bool {
        guard lua_type(state, n) == LUA_TBOOLEAN else { throw .type(n, expected: "boolean") }
        return lua_toboolean(state, n) != 0
    }

    /// Argument `n` copied into Swift.
    public func value(_ n: Int32) throws(LuaCallError) -> LuaValue {
        var seen: Set<UnsafeRawPointer> = []
        do {
            return try LuaState.value(
                at: lua_absindex(state, n), on: state, state: lua, seen: &seen, path: "argument #\(n)")
        } catch {
            throw .argument(n, error.message)
        }
    }

    /// Argument `n` as a host object of `type`, or a type error naming it.
    public func object<Payload>(_ n: Int32, _ type: LuaObjectClass<Payload>) throws(LuaCallError) -> Payload {
        guard let payload = type.payload(at: n, on: state) else { throw .type(n, expected: type.name) }
        return payload
    }

    /// Argument `n` as a host object of `type`, or nil when it is another value.
    public func optionalObject<Payload>(_ n: Int32, _ type: LuaObjectClass<Payload>) -> Payload? {
        type.payload(at: n, on: state)
    }

    /// Argument `n` must be a table (`luaL_checktype`).
    public func checkTable(_ n: Int32) throws(LuaCallError) {
        guard lua_type(state, n) == LUA_TTABLE else { throw .type(n, expected: "table") }
    }

    public func checkFunction(_ n: Int32) throws(LuaCallError) {
        guard lua_type(state, n) == LUA_TFUNCTION else { throw .type(n, expected: "function") }
    }

    // MARK: Results

    public func pushNil() { lua_pushnil(state) }
    public func push(_ value: Bool) { lua_pushboolean(state, value ? 1 : 0) }
    public func push(_ value: Int64) { lua_pushinteger(state, value) }
    public func push(_ value: Int) { lua_pushinteger(state, lua_Integer(value)) }
    public func push(_ value: Double) { lua_pushnumber(state, value) }
    public func push(_ value: String) {
        var value = value
        value.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                _ = lua_pushlstring(state, chars.baseAddress, chars.count)
            }
        }
    }
    public func push(_ value: String?) { if let value { push(value) } else { pushNil() } }
    public func push(_ value: LuaValue) throws(LuaCallError) {
        do {
            try LuaState.push(value, on: state, state: lua, depth: 0)
        } catch {
            throw .message(error.message)
        }
    }
    public func push<Payload>(_ payload: Payload, as type: LuaObjectClass<Payload>) {
        type.push(payload, on: state)
    }

    /// Pushes an array of host objects as a Lua sequence.
    public func push<Payload>(array payloads: some Collection<Payload>, as type: LuaObjectClass<Payload>) {
        lua_createtable(state, Int32(clamping: payloads.count), 0)
        var index: lua_Integer = 1
        for payload in payloads {
            type.push(payload, on: state)
            lua_rawseti(state, -2, index)
            index += 1
        }
    }

    // MARK: Calling back into Lua

    /// Calls the function at `n` with `arguments` under the protected call;
    /// its first result copied into Swift. Lua errors come back as `LuaError`.
    public func callFunction(at n: Int32, _ arguments: [LuaValue] = []) throws(LuaError) -> LuaValue {
        let base = lua_gettop(state)
        defer { lua_settop(state, base) }
        lua_pushvalue(state, n)
        for argument in arguments { try LuaState.push(argument, on: state, state: lua, depth: 0) }
        try lua.protectedCall(on: state, arguments: Int32(arguments.count), results: 1)
        var seen: Set<UnsafeRawPointer> = []
        return try LuaState.value(at: lua_absindex(state, -1), on: state, state: lua, seen: &seen, path: "result")
    }
}

// MARK: - Dispatch from C

/// What C hands a call to: a registered function or an object type.
public class LuaHostTarget {
    init() {}

    func dispatch(_ L: OpaquePointer, op: Int32, field: lua_Integer) -> Int32 { Int32(JR_RAISE_VALUE) }
}

/// The one entry from C into Swift. It returns a result count or a raise code;
/// the C trampoline raises after this frame is gone.
let hostDispatch: jr_dispatch_fn = { L, target, op, field in
    guard let L, let target else { return Int32(JR_RAISE_VALUE) }
    return Unmanaged<LuaHostTarget>.fromOpaque(target).takeUnretainedValue().dispatch(L, op: op, field: field)
}

/// Leaves `error` on the stack and returns the code with which C raises it.
func raiseCode(for error: any Error, on L: OpaquePointer, lua: LuaState) -> Int32 {
    let call = LuaCall(state: L, lua: lua)
    switch error {
    case let error as LuaCallError:
        switch error {
        case .argument(let n, let message):
            lua.host.pointee.error_argument = n
            call.push(message)
            return Int32(JR_RAISE_ARGUMENT)
        case .type(let n, let expected):
            lua.host.pointee.error_argument = n
            call.push(expected)
            return Int32(JR_RAISE_TYPE)
        case .message(let message):
            call.push(message)
            return Int32(JR_RAISE_MESSAGE)
        case .value(let value):
            do {
                try LuaState.push(value, on: L, state: lua, depth: 0)
            } catch {
                call.push(error.message)
            }
            return Int32(JR_RAISE_VALUE)
        }
    case let error as LuaError:
        // Already positioned by Lua (an error from code this function called).
        call.push(error.message)
        return Int32(JR_RAISE_VALUE)
    default:
        call.push(String(describing: error))
        return Int32(JR_RAISE_MESSAGE)
    }
}

final class LuaFunctionBox: LuaHostTarget {
    let body: LuaFunction
    unowned(unsafe) let lua: LuaState

    init(_ body: @escaping LuaFunction, lua: LuaState) {
        self.body = body
        self.lua = lua
    }

    override func dispatch(_ L: OpaquePointer, op: Int32, field: lua_Integer) -> Int32 {
        do {
            return try body(LuaCall(state: L, lua: lua))
        } catch {
            return raiseCode(for: error, on: L, lua: lua)
        }
    }
}

extension LuaState {
    /// Pushes a host function (kept alive as long as the state).
    func pushFunction(_ function: @escaping LuaFunction, on L: OpaquePointer) {
        let box = LuaFunctionBox(function, lua: self)
        retained.append(box)
        jr_pushhostfunction(L, Unmanaged.passUnretained(box).toOpaque())
    }
}
