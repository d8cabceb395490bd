import CLua
import LuaHost
import Testing

/// The library functions the sandbox replaces with stoppable ones (pattern
/// matching, `string.rep`, `table.insert`, `remove`, `move`, `sort`,
/// `load`, `setmetatable`) against Lua's own, on seeded random cases: the
/// same results and the same error messages.
@Suite struct LuaPatternTests {
    /// A chunk that runs `count` random cases from `seed` and returns every
    /// result as text, one line a call.
    static func cases(seed: Int, count: Int) -> String {
        """
        local seed, count = \(seed), \(count)
        math.randomseed(seed)
        local out = {}
        local function show(ok, ...)
          local parts = {tostring(ok)}
          for i = 1, select("#", ...) do
            local v = select(i, ...)
            if type(v) == "table" then
              local items = {}
              for k = -3, #v + 3 do items[#items + 1] = tostring(rawget(v, k)) end
              parts[#parts + 1] = "{" .. table.concat(items, ",") .. "}"
            else
              parts[#parts + 1] = string.format("%q", tostring(v))
            end
          end
          out[#out + 1] = table.concat(parts, " ")
        end
        local atoms = {"a", "b", ".", "%a", "%d", "%s", "%S", "%w", "%p", "%%", "%.", "[ab]", "[^a]", "[a-c]", "[%a_]", "[]]",
          "[^]]", "%bab", "%f[a]", "%f[%s]", "()", "(", ")", "%1", "%2", "%0", "^", "$", "x", " ", "-", "[", "%", "%z", "%f",
          "%b", "[a-]", "[%]", "%g", "%c", "%u", "%l", "%x", "%W"}
        local quantifiers = {"", "", "", "*", "+", "-", "?"}
        local letters = {"a", "b", "c", " ", "x", "1", "_", "(", ")", "%", "\\0", "]", "A", "\\t"}
        local function pick(t) return t[math.random(#t)] end
        local function pattern()
          local p = {}
          if math.random(5) == 1 then p[#p + 1] = "^" end
          for _ = 1, math.random(0, 6) do
            local a = pick(atoms)
            if math.random(4) == 1 and a ~= "(" and a ~= ")" then p[#p + 1] = "(" .. a .. pick(quantifiers) .. ")"
            else p[#p + 1] = a .. pick(quantifiers) end
          end
          if math.random(6) == 1 then p[#p + 1] = "$" end
          return table.concat(p)
        end
        local function subject()
          local s = {}
          for _ = 1, math.random(0, 12) do s[#s + 1] = pick(letters) end
          return table.concat(s)
        end
        local replacements = {"%0", "<%1>", "%%", "x", "%2", "%", function(a) return a and a .. "!" end, {a = "A", b = false}, 7}
        for _ = 1, count do
          local p, s, init = pattern(), subject(), math.random(-3, 14)
          show(pcall(string.find, s, p, init))
          show(pcall(string.find, s, p, init, true))
          show(pcall(string.match, s, p, init))
          show(pcall(function()
            local found = {}
            for a, b in string.gmatch(s, p, init) do found[#found + 1] = tostring(a) .. "," .. tostring(b) if #found > 20 then break end end
            return table.concat(found, ";")
          end))
          show(pcall(string.gsub, s, p, replacements[math.random(#replacements)], math.random(4) == 1 and math.random(0, 2) or nil))
          show(pcall(string.rep, pick{"", "ab", "x"}, math.random(-2, 5), pick{nil, "", ","}))
          -- Tables: sort (numbers, strings, a comparator), insert, remove, move.
          local t, u = {}, {}
          for k = 1, math.random(0, 200) do t[k] = math.random(1, 50) u[k] = tostring(t[k]) end
          show(pcall(table.sort, t)) show(true, t)
          show(pcall(table.sort, u)) show(true, u)
          show(pcall(table.sort, t, function(a, b) return a > b end)) show(true, t)
          -- Ties: records ordered by a key many share; which of the tied comes
          -- first Lua leaves open, so the keys' order is what is compared.
          local records = {}
          for k = 1, #t do records[k] = {key = t[k] % 7, id = k} end
          show(pcall(table.sort, records, function(a, b) return a.key < b.key end))
          local keys = {}
          for k = 1, #records do keys[k] = records[k].key end
          show(true, keys)
          local v = {}
          for k = 1, math.random(0, 10) do v[k] = k end
          show(pcall(table.insert, v, math.random(-1, 12), "x")) show(true, v)
          show(pcall(table.insert, v, "y")) show(true, v)
          show(pcall(table.remove, v, math.random(1, #v + 1))) show(true, v)
          show(pcall(table.remove, v)) show(true, v)
          local f, e, to = math.random(-2, 8), math.random(-2, 8), math.random(-2, 8)
          show(pcall(table.move, v, f, e, to)) show(true, v)
        end
        show(pcall(table.sort, {3, 1, "x"}))
        show(pcall(table.sort, {3, 1, 2}, 5))
        show(pcall(table.insert, {}, 1, 2, 3))
        show(pcall(table.move, {}, 1, math.maxinteger, 2))
        show(pcall(table.move, {}, -1, math.maxinteger, 2))
        show(pcall(table.move, {}, 1, 3, math.maxinteger))
        show(pcall(string.rep, "x", 2^40))
        show(pcall(load, "return 1 +"))
        show(pcall(function() return load("return ...", "c", "t", {})(5) end))
        show(pcall(function() return load(coroutine.wrap(function() coroutine.yield("return ") coroutine.yield("7") end))() end))
        show(pcall(setmetatable, {}, 5))
        show(pcall(setmetatable, setmetatable({}, {__metatable = 1}), {}))
        show(pcall(string.gsub, "abc", "b", nil))
        return table.concat(out, "\\n")
        """
    }

    /// Runs `source` in a VM with Lua's own standard libraries.
    static func stock(_ source: String) -> String? {
        guard let L = luaL_newstate() else { return nil }
        defer { lua_close(L) }
        luaL_openlibs(L)
        guard luaL_loadbufferx(L, source, source.utf8.count, "=cases", "t") == LUA_OK, lua_pcallk(L, 0, 1, 0, 0, nil) == LUA_OK else {
            return "error: " + String(cString: lua_tolstring(L, -1, nil))
        }
        var length = 0
        guard let chars = lua_tolstring(L, -1, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: chars, count: length), as: UTF8.self)
    }

    @Test(arguments: [1, 2, 3])
    func theSandboxsFunctionsDoWhatLuasOwnDo(seed: Int) throws {
        let source = Self.cases(seed: seed, count: 1500)
        let expected = try #require(Self.stock(source))
        #expect(!expected.hasPrefix("error: "), "\(expected)")
        // Under limits, so that the steps are counted (none is reached).
        let (lua, _) = try makeLua(limits: LuaLimits(timeout: .seconds(60), memory: 1 << 30))
        let results = try lua.execute(source, chunkName: "=cases")
        guard case .string(let ours)? = results.first else {
            Issue.record("no results")
            return
        }
        let oursLines = ours.description.split(separator: "\n", omittingEmptySubsequences: false)
        let theirs = expected.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(oursLines.count == theirs.count)
        // Lua 5.4.4 blames argument #1 for a `table.remove` position out of bounds; the position is argument #2.
        let differing = zip(oursLines, theirs).enumerated().filter { _, pair in
            pair.0 != pair.1 && pair.1.replacing("bad argument #1 to 'table.remove'", with: "bad argument #2 to 'table.remove'") != pair.0
        }
        let count = differing.count
        #expect(count == 0, "\(differing.prefix(5).map { "line \($0.offset + 1): ours \($0.element.0) / Lua's \($0.element.1)" })")
    }

    /// Whatever the comparator says — always true, at random, an error, a
    /// change of the table — the sort ends, and keeps the table's elements.
    @Test func sortEndsAndKeepsTheElementsWhateverTheComparator() throws {
        let (lua, output) = try makeLua(limits: LuaLimits(timeout: .seconds(30), memory: 1 << 30))
        try lua.execute("""
            math.randomseed(5)
            local comparators = {
              function(a, b) return true end,
              function(a, b) return math.random() < 0.5 end,
              function(a, b) return a <= b end,
              function(a, b) if math.random() < 0.01 then error("no") end return a < b end,
            }
            local ok = 0
            for round = 1, 200 do
              local n = math.random(0, 300)
              local t, count = {}, {}
              for i = 1, n do t[i] = math.random(1, 20) count[t[i]] = (count[t[i]] or 0) + 1 end
              pcall(table.sort, t, comparators[round % #comparators + 1])
              local seen = {}
              for i = 1, n do seen[t[i]] = (seen[t[i]] or 0) + 1 end
              local same = #t == n
              for v, c in pairs(count) do same = same and seen[v] == c end
              if same then ok = ok + 1 end
            end
            print(ok)
            """, chunkName: "=sort")
        #expect(output.text == "200\n")
    }
}
