import LuaHost
import Testing

/// A tiny host type: a counter object identified by name, backed by a Swift dictionary.
final class Counters {
    var values: [String: Int64] = [:]
}

@Suite struct LuaObjectTypeTests {
    func setUp() throws -> (LuaState, LuaObjectClass<String>, Counters) {
        let (lua, _) = try makeLua()
        let counters = Counters()
        let type = LuaObjectType<String>(
            name: "Counter",
            fields: [
                LuaField("name") { name, call in call.push(name) },
                LuaField("value") { name, call in call.push(counters.values[name] ?? 0) },
                LuaField(
                    "label", get: { name, call in call.push("label:\(name)") },
                    set: { name, call in _ = try call.string(3) }),
            ],
            methods: [
                LuaMethod("add") { name, call in
                    let amount = try call.integer(2)
                    guard amount >= 0 else { throw LuaCallError.argument(2, "amount must not be negative") }
                    counters.values[name, default: 0] += amount
                    call.push(counters.values[name] ?? 0)
                    return 1
                }
            ],
            describe: { "Counter \($0) = \(counters.values[$0] ?? 0)" }
        )
        let counterClass = try lua.register(type)
        try lua.setGlobal(
            "counters",
            namespace: [
                "get": { [unowned(unsafe) counterClass] call in
                    call.push(try call.string(1), as: counterClass)
                    return 1
                }
            ])
        return (lua, counterClass, counters)
    }

    @Test func fieldsAndMethods() throws {
        let (lua, _, counters) = try setUp()
        #expect(try lua.execute("local c = counters.get('a') c:add(2) c:add(3) return c.name, c.value") == ["a", 5])
        #expect(counters.values["a"] == 5)
        #expect(try lua.execute("return tostring(counters.get('a'))") == ["Counter a = 5"])
        #expect(try lua.execute("return counters.get('a') == counters.get('a'), counters.get('a') == counters.get('b')") == [true, false])
        #expect(try lua.execute("return type(counters.get('a'))") == ["userdata"])
    }

    @Test func fieldsAreReadOnlyUnlessTheTypeSaysOtherwise() throws {
        let (lua, _, _) = try setUp()
        #expect(expectError(lua, "counters.get('a').value = 3")?.message == "test:1: field 'value' of Counter is read-only")
        #expect(expectError(lua, "counters.get('a').add = 3")?.message == "test:1: field 'add' of Counter is read-only")
        #expect(expectError(lua, "counters.get('a').other = 3")?.message == "test:1: Counter has no field 'other'")
        #expect(try lua.execute("local c = counters.get('a') c.label = 'x' return c.label") == ["label:a"])
        #expect(expectError(lua, "local c = counters.get('a') c.label = {}")?.message.contains("bad argument #3") == true)
    }

    @Test func unknownMembersAreErrors() throws {
        let (lua, _, _) = try setUp()
        #expect(expectError(lua, "return counters.get('a').nmae")?.message == "test:1: Counter has no field or method 'nmae'")
    }

    @Test func methodArgumentErrors() throws {
        let (lua, _, _) = try setUp()
        #expect(expectError(lua, "counters.get('a'):add('x')")?.message == "test:1: bad argument #1 to 'add' (number expected, got string)")
        #expect(expectError(lua, "counters.get('a'):add(-1)")?.message == "test:1: bad argument #1 to 'add' (amount must not be negative)")
        #expect(expectError(lua, "local c = counters.get('a') c.add({}, 1)")?.message == "test:1: bad argument #1 to 'add' (Counter expected, got table)")
        #expect(expectError(lua, "local c = counters.get('a') local t = {add = c.add} t:add(1)")?.message == "test:1: calling 'add' on bad self (Counter expected, got table)")
    }

    @Test func internalsAreOutOfReach() throws {
        let (lua, _, _) = try setUp()
        #expect(try lua.execute("return getmetatable(counters.get('a'))") == ["Counter"])
        #expect(expectError(lua, "setmetatable(counters.get('a'), {})")?.message.contains("table expected") == true)
        #expect(expectError(lua, "rawset(counters.get('a'), 'x', 1)")?.message.contains("table expected") == true)
        #expect(try lua.execute("return rawequal(counters.get('a'), counters.get('a'))") == [false])
    }

    @Test func objectsRoundTripThroughSwift() throws {
        let (lua, counterClass, _) = try setUp()
        let back = try lua.execute("return counters.get('z')")
        guard case .object(let object) = back.first else { Issue.record("not an object"); return }
        #expect(object.typeName == "Counter")
        #expect(object.payload as? String == "z")
        try lua.setGlobal("held", .object(object))
        #expect(try lua.execute("return held.name") == ["z"])
        #expect(counterClass.methodNames == ["add"])
        #expect(counterClass.fieldNames == ["label", "name", "value"])
    }

    @Test func collectedPayloadsAreReleased() throws {
        // A payload with a reference count: its __gc must release it once.
        final class Tracker: @unchecked Sendable { var alive = 0 }
        struct Handle: Hashable, @unchecked Sendable {
            let token: Token
            static func == (a: Handle, b: Handle) -> Bool { a.token === b.token }
            func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(token)) }
        }
        final class Token {
            let tracker: Tracker
            init(_ tracker: Tracker) { self.tracker = tracker; tracker.alive += 1 }
            deinit { tracker.alive -= 1 }
        }
        let tracker = Tracker()
        do {
            let (lua, _) = try makeLua()
            let handleClass = try lua.register(LuaObjectType<Handle>(name: "Handle"))
            try lua.setGlobal("make") { [unowned(unsafe) handleClass] call in
                call.push(Handle(token: Token(tracker)), as: handleClass)
                return 1
            }
            try lua.execute("keep = make() for i = 1, 1000 do local h = make() end")
            #expect(tracker.alive >= 1)
            lua.close()
        }
        #expect(tracker.alive == 0)
    }
}
