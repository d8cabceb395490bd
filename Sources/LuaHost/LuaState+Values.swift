import CLua
import CLuaShim

extension LuaState {
    /// Converting nested tables stops here (a cycle guard catches the rest).
    static let maximumTableDepth = 100

    /// Pushes `value` onto the stack.
    public func push(_ value: LuaValue) throws(LuaError) {
        let L = try requireOpen()
        try Self.push(value, on: L, state: self, depth: 0)
    }

    static func push(_ value: LuaValue, on L: OpaquePointer, state: LuaState, depth: Int) throws(LuaError) {
        guard lua_checkstack(L, 3) != 0 else {
            throw LuaError(kind: .conversion, message: "value too deeply nested for the Lua stack")
        }
        switch value {
        case .nil: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, i)
        case .number(let n): lua_pushnumber(L, n)
        case .string(let s): pushBytes(s.bytes, on: L)
        case .table(let table):
            guard depth < maximumTableDepth else {
                throw LuaError(kind: .conversion, message: "table nested deeper than \(maximumTableDepth) levels")
            }
            lua_createtable(L, Int32(clamping: table.array.count), Int32(clamping: table.fields.count))
            for (offset, element) in table.array.enumerated() {
                try push(element, on: L, state: state, depth: depth + 1)
                lua_rawseti(L, -2, lua_Integer(offset + 1))
            }
            for (key, element) in table.fields {
                if case .number(let n) = key, n.isNaN { continue }  // Lua tables can't hold a NaN key
                try push(key.value, on: L, state: state, depth: depth + 1)
                try push(element, on: L, state: state, depth: depth + 1)
                lua_rawset(L, -3)
            }
        case .object(let object):
            guard let type = state.objectType(id: object.typeID) else {
                throw LuaError(kind: .conversion, message: "host object of unknown type \(object.typeName)")
            }
            try type.pushAny(object.payload, on: L)
        }
    }

    static func pushBytes(_ bytes: [UInt8], on L: OpaquePointer) {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                _ = lua_pushlstring(L, chars.baseAddress, chars.count)
            }
        }
    }

    /// Copies the value at `index` into Swift. Functions, coroutines and light
    /// userdata have no Swift copy and are a conversion error.
    public func value(at index: Int32) throws(LuaError) -> LuaValue {
        let L = try requireOpen()
        var seen: Set<UnsafeRawPointer> = []
        return try Self.value(at: lua_absindex(L, index), on: L, state: self, seen: &seen, path: "value")
    }

    static func value(
        at index: Int32, on L: OpaquePointer, state: LuaState, seen: inout Set<UnsafeRawPointer>, path: String
    ) throws(LuaError) -> LuaValue {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE:
            return .nil
        case LUA_TBOOLEAN:
            return .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .integer(lua_tointegerx(L, index, nil)) }
            return .number(lua_tonumberx(L, index, nil))
        case LUA_TSTRING:
            return .string(LuaString(bytes: bytes(at: index, on: L)))
        case LUA_TTABLE:
            return .table(try table(at: index, on: L, state: state, seen: &seen, path: path))
        case LUA_TUSERDATA:
            let typeID = jr_objecttype(L, index)
            if let type = state.objectType(id: typeID),
                let payload = type.payloadAny(at: index, on: L)
            {
                return .object(LuaObject(typeID: typeID, typeName: type.name, payload: payload))
            }
            throw LuaError(kind: .conversion, message: "\(path): cannot convert a userdata value")
        default:
            let type = String(cString: jr_typename_at(L, index))
            throw LuaError(kind: .conversion, message: "\(path): cannot convert a \(type) value")
        }
    }

    /// The bytes of the string at `index` (which must be a string).
    static func bytes(at index: Int32, on L: OpaquePointer) -> [UInt8] {
        Array(buffer(at: index, on: L))
    }

    /// The bytes of the string (or number, converted in place) at `index`,
    /// where Lua keeps them: good while the value stays on the stack. Empty
    /// for other values.
    static func buffer(at index: Int32, on L: OpaquePointer) -> UnsafeBufferPointer<UInt8> {
        var length = 0
        guard let chars = lua_tolstring(L, index, &length) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: UnsafeRawPointer(chars).assumingMemoryBound(to: UInt8.self), count: length)
    }

    static func table(
        at index: Int32, on L: OpaquePointer, state: LuaState, seen: inout Set<UnsafeRawPointer>, path: String
    ) throws(LuaError) -> LuaTable {
        guard let identity = lua_topointer(L, index) else { return LuaTable() }
        guard seen.insert(identity).inserted else {
            throw LuaError(kind: .conversion, message: "\(path): table contains itself (a cycle)")
        }
        defer { seen.remove(identity) }
        guard seen.count <= maximumTableDepth else {
            throw LuaError(kind: .conversion, message: "\(path): table nested deeper than \(maximumTableDepth) levels")
        }
        guard lua_checkstack(L, 4) != 0 else {
            throw LuaError(kind: .conversion, message: "\(path): table too deeply nested for the Lua stack")
        }
        var fields: [LuaKey: LuaValue] = [:]
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            // Keys are read by type, never converted in place (that would break lua_next).
            let key: LuaKey
            switch lua_type(L, -2) {
            case LUA_TBOOLEAN: key = .boolean(lua_toboolean(L, -2) != 0)
            case LUA_TNUMBER:
                key = lua_isinteger(L, -2) != 0 ? .integer(lua_tointegerx(L, -2, nil)) : LuaKey(lua_tonumberx(L, -2, nil))
            case LUA_TSTRING: key = .string(LuaString(bytes: bytes(at: -2, on: L)))
            default:
                let type = String(cString: jr_typename_at(L, -2))
                jr_pop(L, 2)
                throw LuaError(kind: .conversion, message: "\(path): a \(type) key cannot be converted")
            }
            let element: LuaValue
            do {
                element = try value(at: lua_absindex(L, -1), on: L, state: state, seen: &seen, path: "\(path)[\(key)]")
            } catch {
                jr_pop(L, 2)
                throw error
            }
            fields[key] = element
            jr_pop(L, 1)
        }
        var array: [LuaValue] = []
        while let element = fields.removeValue(forKey: .integer(Int64(array.count + 1))) { array.append(element) }
        return LuaTable(array: array, fields: fields)
    }

    // MARK: Globals

    /// Sets a host global: readable by every chunk, never overwritten by one.
    public func setGlobal(_ name: String, _ value: LuaValue) throws(LuaError) {
        let L = try requireOpen()
        try push(value)
        jr_sethostglobal(L, name)
    }

    /// Sets a host global to a host function.
    public func setGlobal(_ name: String, function: @escaping LuaFunction) throws(LuaError) {
        let L = try requireOpen()
        pushFunction(function, on: L)
        jr_sethostglobal(L, name)
    }

    /// Sets a host global to a read-only table of host functions and values (a namespace like `jobs`).
    public func setGlobal(
        _ name: String, namespace functions: [String: LuaFunction], values: [String: LuaValue] = [:]
    ) throws(LuaError) {
        let L = try requireOpen()
        lua_createtable(L, 0, Int32(clamping: functions.count + values.count))
        for (key, function) in functions {
            pushFunction(function, on: L)
            lua_setfield(L, -2, key)
        }
        for (key, value) in values {
            try push(value)
            lua_setfield(L, -2, key)
        }
        jr_readonly(L, name)
        jr_sethostglobal(L, name)
    }

    /// The value of a global as scripts see it (their own, else the host's).
    public func global(_ name: String) throws(LuaError) -> LuaValue {
        let L = try requireOpen()
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        jr_pushglobaltable(L)
        lua_pushstring(L, name)
        if lua_rawget(L, -2) == LUA_TNIL {
            jr_pop(L, 1)
            _ = jr_gethostglobal(L, name)
        }
        return try value(at: -1)
    }

    /// The names of the host's globals and the scripts' own globals, sorted (for completion).
    public func globalNames() throws(LuaError) -> [String] {
        let L = try requireOpen()
        var names: Set<String> = []
        jr_pushglobaltable(L)
        Self.collectStringKeys(at: -1, on: L, into: &names)
        // The host globals are the __index of the globals' metatable.
        if lua_getmetatable(L, -1) != 0 {
            lua_pushstring(L, "__index")
            if lua_rawget(L, -2) == LUA_TTABLE { Self.collectStringKeys(at: -1, on: L, into: &names) }
            jr_pop(L, 2)
        }
        jr_pop(L, 1)
        return names.sorted()
    }

    static func collectStringKeys(at index: Int32, on L: OpaquePointer, into names: inout Set<String>) {
        let table = lua_absindex(L, index)
        lua_pushnil(L)
        while lua_next(L, table) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let text = LuaString(bytes: bytes(at: -2, on: L)).text {
                names.insert(text)
            }
            jr_pop(L, 1)
        }
    }
}
