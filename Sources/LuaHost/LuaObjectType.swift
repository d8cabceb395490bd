import CLua
import CLuaShim

/// A field of a host object type: `get` pushes exactly one value; `set`, when
/// present, reads the new value at index 3. Fields without `set` are read-only.
/// A `constant` field gives the same value for the object's whole life (until
/// `LuaState.forgetConstantFields()`): once read, the VM may keep it.
public struct LuaField<Payload> {
    public let name: String
    let get: (Payload, LuaCall) throws -> Void
    let set: ((Payload, LuaCall) throws -> Void)?
    let constant: Bool

    public init(
        _ name: String, constant: Bool = false, get: @escaping (Payload, LuaCall) throws -> Void,
        set: ((Payload, LuaCall) throws -> Void)? = nil
    ) {
        self.name = name
        self.get = get
        self.set = set
        self.constant = constant && set == nil
    }
}

/// A method of a host object type: called as `object:name(…)`, its own
/// arguments start at index 2; it returns how many results it pushed.
public struct LuaMethod<Payload> {
    public let name: String
    let body: (Payload, LuaCall) throws -> Int32

    public init(_ name: String, _ body: @escaping (Payload, LuaCall) throws -> Int32) {
        self.name = name
        self.body = body
    }
}

/// The description of a host object type, independent of any VM. Objects of the
/// type are userdata holding a copy of `Payload` (a handle, usually an id).
public struct LuaObjectType<Payload: Hashable & Sendable> {
    public let name: String
    public let fields: [LuaField<Payload>]
    public let methods: [LuaMethod<Payload>]
    /// What `tostring(object)` shows; by default `Name: payload`.
    public let describe: ((Payload) -> String)?

    public init(
        name: String, fields: [LuaField<Payload>] = [], methods: [LuaMethod<Payload>] = [],
        describe: ((Payload) -> String)? = nil
    ) {
        self.name = name
        self.fields = fields
        self.methods = methods
        self.describe = describe
    }

    /// Field names then method names, each sorted (for completion and help).
    public var fieldNames: [String] { fields.map(\.name).sorted() }
    public var methodNames: [String] { methods.map(\.name).sorted() }
}

protocol LuaRegisteredTypeProtocol: AnyObject {
    var typeID: UInt32 { get }
    var name: String { get }
    var fieldNames: [String] { get }
    var methodNames: [String] { get }
    func pushAny(_ payload: any Hashable & Sendable, on L: OpaquePointer) throws(LuaError)
    func payloadAny(at index: Int32, on L: OpaquePointer) -> (any Hashable & Sendable)?
}

/// What every registered host object type does, on payload addresses. Field
/// reads are the hot path: code generic over the payload type looks up type
/// metadata at run time on every call (measured: half the cost of a read), so
/// dispatch lives here, non-generic, with closures built once per type.
public class LuaObjectClassBase: LuaHostTarget {
    public let typeID: UInt32
    public let name: String
    public let fieldNames: [String]
    public let methodNames: [String]
    /// Field names in the order the type declares them (for display).
    public let declaredFields: [String]
    /// The metatable, in the registry (set once registration has built it).
    var metatableReference: Int32 = LUA_NOREF
    unowned(unsafe) let lua: LuaState
    let getters: ContiguousArray<(UnsafeMutableRawPointer, LuaCall) throws -> Void>
    let setters: ContiguousArray<((UnsafeMutableRawPointer, LuaCall) throws -> Void)?>
    let members: Set<String>
    /// Method bodies by name, on the payload's address.
    let methods: [(name: String, body: (UnsafeMutableRawPointer, LuaCall) throws -> Int32)]
    let describe: (UnsafeMutableRawPointer) -> String
    let equal: (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Bool
    let destroy: (UnsafeMutableRawPointer) -> Void

    init<Payload>(type: LuaObjectType<Payload>, typeID: UInt32, lua: LuaState) {
        self.typeID = typeID
        self.name = type.name
        self.fieldNames = type.fieldNames
        self.methodNames = type.methodNames
        self.declaredFields = type.fields.map(\.name)
        self.lua = lua
        func payload(_ raw: UnsafeMutableRawPointer) -> Payload { raw.assumingMemoryBound(to: Payload.self).pointee }
        getters = ContiguousArray(
            type.fields.map { field in
                let get = field.get
                return { raw, call in try get(payload(raw), call) }
            })
        setters = ContiguousArray(
            type.fields.map { field in
                field.set.map { set in { raw, call in try set(payload(raw), call) } }
            })
        methods = type.methods.map { method in
            let body = method.body
            return (method.name, { raw, call in try body(payload(raw), call) })
        }
        members = Set(type.fields.map(\.name) + type.methods.map(\.name))
        let typeName = type.name
        describe = { raw in type.describe?(payload(raw)) ?? "\(typeName): \(payload(raw))" }
        equal = { a, b in payload(a) == payload(b) }
        destroy = { raw in raw.assumingMemoryBound(to: Payload.self).deinitialize(count: 1) }
    }

    override func dispatch(_ L: OpaquePointer, op: Int32, field: lua_Integer) -> Int32 {
        let call = LuaCall(state: L, lua: lua)
        do {
            switch op {
            case Int32(JR_OP_GET):
                // Only __index asks for a field: argument 1 is one of this type's objects.
                guard let raw = jr_object_self(L) else { throw LuaCallError.type(1, expected: name) }
                try getters[Int(field)](raw, call)
                return 1
            case Int32(JR_OP_SET):
                guard let raw = jr_toobject(L, 1, typeID) else { throw LuaCallError.type(1, expected: name) }
                guard field >= 0, let set = setters[Int(field)] else {
                    throw LuaCallError.message(readOnlyMessage(key: L))
                }
                try set(raw, call)
                return 0
            case Int32(JR_OP_TOSTRING):
                guard let raw = jr_toobject(L, 1, typeID) else { throw LuaCallError.type(1, expected: name) }
                call.push(describe(raw))
                return 1
            case Int32(JR_OP_EQ):
                if let a = jr_toobject(L, 1, typeID), let b = jr_toobject(L, 2, typeID) {
                    call.push(equal(a, b))
                } else {
                    call.push(false)
                }
                return 1
            case Int32(JR_OP_GC):
                // The header is already marked dead; the payload is released here, once.
                if let raw = lua_touserdata(L, 1) { destroy(raw + jr_object_payload_offset()) }
                return 0
            default:
                return 0
            }
        } catch {
            return raiseCode(for: error, on: L, lua: lua)
        }
    }

    private func readOnlyMessage(key L: OpaquePointer) -> String {
        let key = lua_type(L, 2) == LUA_TSTRING ? String(cString: lua_tolstring(L, 2, nil)) : "?"
        if members.contains(key) { return "field '\(key)' of \(name) is read-only" }
        return "\(name) has no field '\(key)'"
    }
}

/// A host object type registered with one VM: pushes objects and reads them back.
public final class LuaObjectClass<Payload: Hashable & Sendable>: LuaObjectClassBase, LuaRegisteredTypeProtocol {
    public let type: LuaObjectType<Payload>

    init(type: LuaObjectType<Payload>, typeID: UInt32, lua: LuaState) {
        self.type = type
        super.init(type: type, typeID: typeID, lua: lua)
    }

    func push(_ payload: Payload, on L: OpaquePointer) {
        let raw = jr_newobject(L, typeID, MemoryLayout<Payload>.size)
        raw?.bindMemory(to: Payload.self, capacity: 1).initialize(to: payload)
        lua_rawgeti(L, jr_registryindex(), lua_Integer(metatableReference))
        lua_setmetatable(L, -2)
    }

    func payload(at index: Int32, on L: OpaquePointer) -> Payload? {
        guard let raw = jr_toobject(L, index, typeID) else { return nil }
        return raw.assumingMemoryBound(to: Payload.self).pointee
    }

    func pushAny(_ payload: any Hashable & Sendable, on L: OpaquePointer) throws(LuaError) {
        guard let payload = payload as? Payload else {
            throw LuaError(kind: .conversion, message: "host object payload is not a \(name)")
        }
        push(payload, on: L)
    }

    func payloadAny(at index: Int32, on L: OpaquePointer) -> (any Hashable & Sendable)? {
        payload(at: index, on: L)
    }
}

extension LuaState {
    /// The registered type with `id` (ids are 1, 2, … in registration order).
    func objectType(id: UInt32) -> (any LuaRegisteredTypeProtocol)? {
        id >= 1 && Int(id) <= objectTypes.count ? objectTypes[Int(id) - 1] : nil
    }

    /// Registers a host object type with this VM.
    public func register<Payload>(_ type: LuaObjectType<Payload>) throws(LuaError) -> LuaObjectClass<Payload> {
        let L = try requireOpen()
        guard MemoryLayout<Payload>.alignment <= 8 else {
            throw LuaError(kind: .setup, message: "host type \(type.name): payload alignment above 8 bytes")
        }
        let typeID = UInt32(objectTypes.count + 1)
        let objectClass = LuaObjectClass(type: type, typeID: typeID, lua: self)
        let target = Unmanaged.passUnretained(objectClass).toOpaque()
        // Methods: name -> host function checking `self`.
        lua_createtable(L, 0, Int32(clamping: objectClass.methods.count))
        for method in objectClass.methods {
            let body = method.body
            let typeName = type.name
            pushFunction(
                { call in
                    guard let raw = jr_toobject(call.state, 1, typeID) else {
                        throw LuaCallError.type(1, expected: typeName)
                    }
                    return try body(raw, call)
                }, on: L)
            lua_setfield(L, -2, method.name)
        }
        // Fields: name -> index.
        lua_createtable(L, 0, Int32(clamping: type.fields.count))
        for (index, field) in type.fields.enumerated() {
            lua_pushinteger(L, lua_Integer(index) | (field.constant ? lua_Integer(JR_FIELD_CONSTANT) : 0))
            lua_setfield(L, -2, field.name)
        }
        jr_newobjecttype(L, target, type.name, _isPOD(Payload.self) ? 0 : 1)
        objectClass.metatableReference = luaL_ref(L, jr_registryindex())
        // The metatable's closures point at `objectClass`: the state keeps it.
        retained.append(objectClass)
        objectTypes.append(objectClass)
        return objectClass
    }

    /// Drops the values of constant fields the VM keeps (see `LuaField`): for
    /// when what the objects stand for was replaced (a reloaded store).
    public func forgetConstantFields() {
        guard let L = state else { return }
        jr_forget_constants(L)
    }

    /// The field and method names of the host object at `index`, or nil (for completion).
    public func objectMembers(at index: Int32) throws(LuaError) -> (type: String, fields: [String], methods: [String])? {
        let L = try requireOpen()
        let typeID = jr_objecttype(L, index)
        guard let type = objectType(id: typeID) else { return nil }
        return (type.name, type.fieldNames, type.methodNames)
    }
}
