import CLua
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
                LuaField("digits") { name, call in
                    let digits = String(counters.values[name] ?? 0).map(String.init)
                    call.newTable(array: digits.count)
                    for (i, digit) in digits.enumerated() {
                        call.push(digit)
                        lua_rawseti(call.state, -2, lua_Integer(i + 1))
                    }
                },
                LuaField("positive") { name, call in
                    if let value = counters.values[name], value > 0 { call.push(true) } else { call.pushNil() }
                },
                LuaField(
                    "limit", get: { name, call in call.push(counters.values["limit:" + name] ?? 0) },
                    set: { name, call in counters.values["limit:" + name] = try call.integer(3) }),
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
        #expect(counterClass.fieldNames == ["digits", "label", "limit", "name", "positive", "value"])
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

    // Objects read often keep field values between host calls (see shim.c):
    // whatever changes them must show at once, and nothing else may differ.
    @Test func readsOfAnOftenReadObjectFollowEveryChange() throws {
        let (lua, _, counters) = try setUp()
        // A method call on the object, then a call on another object.
        #expect(try lua.execute("""
            local c = counters.get('a')
            local seen = {}
            for i = 1, 10 do seen[#seen + 1] = c.value end
            c:add(2)
            for i = 1, 10 do seen[#seen + 1] = c.value end
            counters.get('a'):add(3)
            seen[#seen + 1] = c.value
            return table.concat(seen, ',')
            """) == [.string(LuaString((Array(repeating: "0", count: 10) + Array(repeating: "2", count: 10) + ["5"]).joined(separator: ",")))])
        // A field write, and a change made by the host between two chunks.
        try lua.execute("held = counters.get('a') for i = 1, 10 do local _ = held.limit end held.limit = 7")
        #expect(try lua.execute("local seen = held.limit for i = 1, 10 do local _ = held.value end return seen, held.value") == [7, 5])
        counters.values["a"] = 40
        #expect(try lua.execute("return held.value, held.value, held.value, held.value, held.value") == [40, 40, 40, 40, 40])
        // nil, then a value.
        counters.values["b"] = 0
        #expect(try lua.execute("""
            local c = counters.get('b')
            local before = 0
            for i = 1, 10 do if c.positive == nil then before = before + 1 end end
            c:add(1)
            return before, c.positive, c.positive
            """) == [10, true, true])
        // A table field is a fresh copy at every read.
        #expect(try lua.execute("""
            local c = counters.get('a')
            for i = 1, 10 do local d = c.digits d[#d + 1] = 'x' end
            return #c.digits, rawequal(c.digits, c.digits)
            """) == [2, false])
        // A value the host function changed and then failed: the failure shows the new state.
        #expect(try lua.execute("""
            local c = counters.get('a')
            for i = 1, 10 do local _ = c.value end
            pcall(c.add, c, -1)
            c:add(1)
            return c.value
            """) == [41])
    }

    @Test func constantFieldsOfAnObjectReadOverManyCallsStayInTheVMUntilForgotten() throws {
        let (lua, _) = try makeLua()
        final class Reads { var stable = 0, changing = 0, version = 1 }
        let reads = Reads()
        let type = LuaObjectType<Int>(
            name: "Thing",
            fields: [
                LuaField("stable", constant: true) { n, call in
                    reads.stable += 1
                    call.push("thing \(n) v\(reads.version)")
                },
                LuaField("changing") { _, call in
                    reads.changing += 1
                    call.push(Int64(reads.changing))
                },
            ])
        let thing = try lua.register(type)
        try lua.setGlobal(
            "host",
            namespace: [
                "thing": { [unowned(unsafe) thing] call in
                    call.push(7, as: thing)
                    return 1
                },
                "tick": { _ in 0 },  // a host call: it ends the epoch of cached values
            ])
        // Two reads an epoch, thirty epochs: the host answers the constant field
        // until the object's ninth read (its fifth), the other one every time.
        #expect(try lua.execute("""
            kept = host.thing()
            local seen, n = {}, 0
            for i = 1, 30 do seen[kept.stable] = true local _ = kept.changing host.tick() end
            for _ in pairs(seen) do n = n + 1 end
            return n, next(seen), kept.changing
            """) == [1, "thing 7 v1", 31])
        #expect(reads.stable == 5)
        // Forgotten (what a store reload does), it is asked again, and kept again.
        reads.version = 2
        lua.forgetConstantFields()
        #expect(try lua.execute("local a = kept.stable host.tick() return a, kept.stable") == ["thing 7 v2", "thing 7 v2"])
        #expect(reads.stable == 6)
        // A new object is asked each time until it too was read eight times.
        #expect(try lua.execute("for i = 1, 3 do local _ = host.thing().stable host.tick() end") == [])
        #expect(reads.stable == 9)
    }

    @Test func anOftenReadObjectBehavesAsAnyOther() throws {
        let (lua, _, _) = try setUp()
        try lua.execute("hot = counters.get('a') for i = 1, 10 do local _ = hot.value, hot.name, hot.add end")
        #expect(try lua.execute("return getmetatable(hot), type(hot), tostring(hot)") == ["Counter", "userdata", "Counter a = 0"])
        #expect(try lua.execute("return hot == counters.get('a'), hot == counters.get('b'), hot.add == counters.get('b').add") == [true, false, true])
        #expect(expectError(lua, "return hot.nmae")?.message == "test:1: Counter has no field or method 'nmae'")
        #expect(expectError(lua, "return hot[1]")?.message == "test:1: Counter has no field 1")
        #expect(expectError(lua, "hot.value = 3")?.message == "test:1: field 'value' of Counter is read-only")
        #expect(expectError(lua, "hot:add('x')")?.message == "test:1: bad argument #1 to 'add' (number expected, got string)")
        #expect(expectError(lua, "setmetatable(hot, {})")?.message.contains("table expected") == true)
        #expect(expectError(lua, "rawset(hot, 'value', 1)")?.message.contains("table expected") == true)
        #expect(try lua.execute("local n = 0 for i = 1, 10 do n = n + hot:add(1) end return n, hot.value") == [55, 10])
        // Read often and dropped: collected like any other object.
        #expect(try lua.execute("""
            local before = collectgarbage('count')
            for i = 1, 2000 do local c = counters.get('x' .. i) for k = 1, 6 do local _ = c.name end end
            return collectgarbage('count') - before < 4096
            """) == [true])
    }
}
