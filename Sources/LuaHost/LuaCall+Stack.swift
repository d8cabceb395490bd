import CLua
import CLuaShim

/// Lua's basic types, as `lua_type` reports them.
public enum LuaType: Sendable, Equatable {
    case none, `nil`, boolean, lightUserdata, number, string, table, function, userdata, thread

    init(_ code: Int32) {
        switch code {
        case LUA_TNIL: self = .nil
        case LUA_TBOOLEAN: self = .boolean
        case LUA_TLIGHTUSERDATA: self = .lightUserdata
        case LUA_TNUMBER: self = .number
        case LUA_TSTRING: self = .string
        case LUA_TTABLE: self = .table
        case LUA_TFUNCTION: self = .function
        case LUA_TUSERDATA: self = .userdata
        case LUA_TTHREAD: self = .thread
        default: self = .none
        }
    }
}

/// A Lua value kept in the registry so that Swift can hold on to it (a rule's
/// functions). Released with `LuaState.release(_:)`.
public struct LuaReference: Hashable, Sendable {
    let ref: Int32
}

/// Where a Lua function is running: its chunk (`rules/01-decline.lua`) and line.
public struct LuaPosition: Sendable, Equatable, CustomStringConvertible {
    public let chunk: String
    public let line: Int

    public init(chunk: String, line: Int) {
        self.chunk = chunk
        self.line = line
    }

    public var description: String { "\(chunk):\(line)" }
}

// Stack work for host functions. None of these runs Lua code or metamethods
// (raw access only), and none raises: allocations don't fail while a host
// function runs.
extension LuaCall {
    /// The type of the value at `n` (an argument, or a negative index from the top).
    public func type(_ n: Int32) -> LuaType { LuaType(lua_type(state, n)) }

    /// The stack index `n` as an absolute index (stable while pushing).
    public func absolute(_ n: Int32) -> Int32 { lua_absindex(state, n) }

    /// Pops `n` values.
    public func pop(_ n: Int32 = 1) { jr_pop(state, n) }

    /// Pushes a copy of the value at `n`.
    public func copy(_ n: Int32) { lua_pushvalue(state, n) }

    /// Removes the value at `n`, moving those above it down.
    public func remove(_ n: Int32) { jr_remove(state, n) }

    /// Pushes `table[key]` (raw: no metamethod runs) for the table at `table`; returns its type.
    @discardableResult
    public func rawField(_ table: Int32, _ key: String) -> LuaType {
        let table = lua_absindex(state, table)
        push(key)
        return LuaType(lua_rawget(state, table))
    }

    /// Pushes `table[index]` (raw) for the table at `table`; returns its type.
    @discardableResult
    public func rawIndex(_ table: Int32, _ index: Int) -> LuaType {
        LuaType(lua_rawgeti(state, table, lua_Integer(index)))
    }

    /// The length of the sequence of the table at `n` (raw).
    public func rawLength(_ n: Int32) -> Int { Int(lua_rawlen(state, n)) }

    /// The keys of the table at `n` that are strings, and whether it has keys of other kinds
    /// beyond its sequence.
    public func stringKeys(_ n: Int32) -> (keys: [String], others: Bool) {
        let table = lua_absindex(state, n)
        var keys: [String] = []
        var others = false
        let sequence = lua_rawlen(state, table)
        lua_pushnil(state)
        while lua_next(state, table) != 0 {
            switch lua_type(state, -2) {
            case LUA_TSTRING:
                keys.append(String(decoding: LuaState.buffer(at: -2, on: state), as: UTF8.self))
            case LUA_TNUMBER:
                var isInteger: Int32 = 0
                let i = lua_tointegerx(state, -2, &isInteger)
                if isInteger == 0 || i < 1 || UInt64(i) > UInt64(sequence) { others = true }
            default:
                others = true
            }
            jr_pop(state, 1)
        }
        return (keys, others)
    }

    /// The string at `n` when it is one (no number conversion), else nil.
    public func stringValue(_ n: Int32) -> String? {
        guard lua_type(state, n) == LUA_TSTRING else { return nil }
        return String(decoding: LuaState.buffer(at: n, on: state), as: UTF8.self)
    }

    /// The type name of the value at `n`: a host object's type name, or Lua's.
    public func describeType(_ n: Int32) -> String {
        if let type = lua.objectType(id: jr_objecttype(state, n)) { return type.name }
        return typeName(n)
    }

    // MARK: Building results

    /// Pushes a new table sized for `array` sequence items and `fields` other keys.
    public func newTable(array: Int = 0, fields: Int = 0) {
        lua_createtable(state, Int32(clamping: array), Int32(clamping: fields))
    }

    /// Pops the value on top into `table[key]` (raw), `table` being below it.
    public func setField(_ key: String, table: Int32 = -2) {
        let table = lua_absindex(state, table)
        push(key)
        lua_rotate(state, -2, 1)
        lua_rawset(state, table)
    }

    /// Pops the value on top into `table[index]` (raw), `table` being below it.
    public func setIndex(_ index: Int, table: Int32 = -2) {
        lua_rawseti(state, table, lua_Integer(index))
    }

    /// Replaces the table on top by an iterator over its sequence (`for x in it do`).
    public func replaceWithListIterator() { jr_pushlistiterator(state) }

    // MARK: References and positions

    /// Keeps the value at `n` in the registry.
    public func reference(_ n: Int32) -> LuaReference {
        lua_pushvalue(state, n)
        return LuaReference(ref: luaL_ref(state, jr_registryindex()))
    }

    /// Pushes the value kept by `reference`.
    public func push(_ reference: LuaReference) {
        lua_rawgeti(state, jr_registryindex(), lua_Integer(reference.ref))
    }

    /// Pushes a fresh copy of the table kept by `reference` (nested tables
    /// copied too, `depth` levels down): a table built once, handed out
    /// without the cost of building it, and free for the caller to change.
    public func pushCopy(of reference: LuaReference, depth: Int32 = 2) {
        lua_rawgeti(state, jr_registryindex(), lua_Integer(reference.ref))
        jr_push_table_copy(state, -1, depth)
        jr_remove(state, -2)
    }

    /// Where the Lua function `level` levels up is running (1: this function's caller).
    public func position(level: Int32 = 1) -> LuaPosition? {
        var buffer = [CChar](repeating: 0, count: Int(LUA_IDSIZE))
        var line: Int32 = 0
        guard jr_where(state, level, &buffer, buffer.count, &line) != 0 else { return nil }
        let chunk = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return LuaPosition(chunk: chunk, line: Int(line))
    }
}

extension LuaState {
    /// Keeps a host function in the registry (for an object field whose value is a function).
    public func reference(function: @escaping LuaFunction) throws(LuaError) -> LuaReference {
        let L = try requireOpen()
        pushFunction(function, on: L)
        return LuaReference(ref: luaL_ref(L, jr_registryindex()))
    }

    /// Lets the registry drop the value kept by `reference`.
    public func release(_ reference: LuaReference) {
        guard let L = state else { return }
        luaL_unref(L, jr_registryindex(), reference.ref)
    }

    /// Calls the function kept by `function` with the arguments `arguments`
    /// pushes, through the protected call (limits armed on the outermost call).
    /// `result` reads the first result (at the top) before it is popped.
    public func call<T>(
        _ function: LuaReference, arguments: (LuaCall) -> Int32, result: (LuaCall) -> T
    ) throws(LuaError) -> T {
        let L = try requireOpen()
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        let call = LuaCall(state: L, lua: self)
        // Outside any protected call an allocation must not fail (it would
        // abort): pushing counts as host work, exempt from the memory limit.
        host.pointee.in_host += 1
        call.push(function)
        let count = arguments(call)
        host.pointee.in_host -= 1
        try protectedCall(arguments: count, results: 1)
        return result(call)
    }
}
