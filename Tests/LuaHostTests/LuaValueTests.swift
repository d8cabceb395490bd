import LuaHost
import Testing

@Suite struct LuaValueTests {
    @Test func scalarsRoundTrip() throws {
        let (lua, _) = try makeLua()
        let values: [LuaValue] = [
            .nil, true, false, 0, 3, -7, .integer(.max), .integer(.min), 3.0, 0.5, -0.0, .number(.infinity),
            "", "plain", "emoji ✓",
        ]
        for value in values {
            try lua.setGlobal("v", value)
            let back = try lua.execute("return v")
            #expect(back == [value])
        }
    }

    @Test func integersAndFloatsStayDistinct() throws {
        let (lua, _) = try makeLua()
        #expect(try lua.execute("return 3, 3.0, 2^53, 7 // 2, 7 / 2") == [.integer(3), .number(3), .number(9_007_199_254_740_992), .integer(3), .number(3.5)])
        try lua.setGlobal("i", .integer(3))
        try lua.setGlobal("f", .number(3))
        #expect(try lua.execute("return math.type(i), math.type(f)") == ["integer", "float"])
    }

    @Test func stringsAreBytes() throws {
        let (lua, _) = try makeLua()
        let bytes: [UInt8] = [0x61, 0x00, 0xFF, 0xC3, 0x28, 0x7A]  // NUL and invalid UTF-8 inside
        try lua.setGlobal("s", .string(LuaString(bytes: bytes)))
        let back = try lua.execute("return s, #s, s:byte(3)")
        #expect(back == [.string(LuaString(bytes: bytes)), 6, 255])
        if case .string(let s) = back[0] {
            #expect(s.text == nil)
            #expect(s.bytes == bytes)
        }
        #expect(try lua.execute("return '\\0\\1'") == [.string(LuaString(bytes: [0, 1]))])
    }

    @Test func tablesRoundTrip() throws {
        let (lua, _) = try makeLua()
        let table = LuaValue.table(
            LuaTable(
                array: [1, "two", 3.5, [true, false]],
                fields: ["name": "Ana", "nested": .table(LuaTable(fields: ["deep": [1, 2, 3]])), 10: "ten", .boolean(true): "yes"]
            ))
        try lua.setGlobal("t", table)
        #expect(try lua.execute("return t") == [table])
        #expect(try lua.execute("return #t, t[4][1], t.nested.deep[3], t[10], t[true]") == [4, true, 3, "ten", "yes"])
    }

    @Test func sequencesAndHolesFromLua() throws {
        let (lua, _) = try makeLua()
        let back = try lua.execute("return {10, 20, nil, 40, x = 1, [1.5] = 'f', [2.0] = 20}")
        guard case .table(let t) = back.first else { Issue.record("not a table"); return }
        #expect(t.array == [10, 20])
        #expect(t.fields[4] == 40)
        #expect(t.fields["x"] == 1)
        #expect(t.fields[.number(1.5)] == "f")
        #expect(t[2] == 20)
    }

    @Test func cyclesAndFunctionsAreConversionErrors() throws {
        let (lua, _) = try makeLua()
        #expect(throws: LuaError.self) { try lua.execute("local t = {} t.self = t return t") }
        do {
            try lua.execute("return {f = print}")
            Issue.record("a function converted")
        } catch {
            #expect(error.kind == .conversion)
            #expect(error.message.contains("cannot convert a function"))
        }
        // The VM is still usable.
        #expect(try lua.execute("return 1") == [1])
    }

    @Test func deepNestingIsRefused() throws {
        let (lua, _) = try makeLua()
        do {
            try lua.execute("local t = {} local c = t for i = 1, 500 do c[1] = {} c = c[1] end return t")
            Issue.record("deep table converted")
        } catch {
            #expect(error.kind == .conversion)
        }
    }

    @Test func globalsFromSwift() throws {
        let (lua, _) = try makeLua()
        try lua.setGlobal("answer", 42)
        #expect(try lua.global("answer") == 42)
        try lua.execute("mine = 'x'")
        #expect(try lua.global("mine") == "x")
        let names = try lua.globalNames()
        #expect(names.contains("answer") && names.contains("mine") && names.contains("string"))
        #expect(!names.contains("io") && !names.contains("debug"))
    }
}
