// Micro-benchmarks of the Lua host, and a leak probe for the tests.
//
//   jobrules-bench host [ITERATIONS]   Lua→Swift call and host-object field read,
//                                      as ratios to plain Lua in the same run
//   jobrules-bench errors [COUNT]      COUNT error round trips of each kind after a
//                                      warm-up; prints RSS and Lua heap before and after
//   jobrules-bench store FILE          loads FILE (a copy, which it then saves as
//                                      the next revision); prints seconds and peak RSS
import Foundation
import LuaHost
import Marketplace

func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
}

struct Failure: Error, CustomStringConvertible {
    let description: String
}

func makeHost() throws -> LuaState {
    let lua = try LuaState(limits: LuaLimits(timeout: nil, memory: nil))
    try lua.setGlobal("noop") { _ in 0 }
    try lua.setGlobal("fail") { call in throw Failure(description: "no job with id '\(try call.string(1))'") }
    let pointType = LuaObjectType<Int>(
        name: "Point",
        fields: [
            LuaField("x") { value, call in call.push(value) },
            LuaField("y") { value, call in call.push(value * 2) },
        ],
        methods: [LuaMethod("sum") { value, call in call.push(value * 3); return 1 }]
    )
    let pointClass = try lua.register(pointType)
    try lua.setGlobal("point") { [unowned(unsafe) pointClass] call in
        call.push(Int(try call.integer(1)), as: pointClass)
        return 1
    }
    return lua
}

func benchHost(iterations: Int) throws {
    let lua = try makeHost()
    let script = """
        local N = \(iterations)
        local clock = os.clock
        local noop, p = noop, point(7)
        local t = {x = 7}
        local function f() end
        local function time(body)
          local best = math.huge
          for round = 1, 5 do
            local t0 = clock()
            body()
            local dt = clock() - t0
            if dt < best then best = dt end
          end
          return best
        end
        local empty = time(function() for i = 1, N do end end)
        local results = {
          lua_call = time(function() for i = 1, N do f() end end),
          host_call = time(function() for i = 1, N do noop() end end),
          lua_read = time(function() local s for i = 1, N do s = t.x end end),
          host_read = time(function() local s for i = 1, N do s = p.x end end),
          host_method = time(function() local s for i = 1, N do s = p:sum() end end),
        }
        for k, v in pairs(results) do results[k] = math.max(v - empty, 1e-12) / N * 1e9 end
        return results
        """
    guard case .table(let results) = try lua.execute(script, chunkName: "=bench").first else {
        throw Failure(description: "benchmark returned no table")
    }
    func ns(_ key: String) -> Double {
        switch results[.string(LuaString(key))] {
        case .number(let n): n
        case .integer(let i): Double(i)
        default: .nan
        }
    }
    func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
    func figure(_ value: Double) -> String { String(format: "%8.1f", value) }
    let rows: [(String, String, String, String)] = [
        ("Lua→Swift call  noop()", "host_call", "plain call  f()", "lua_call"),
        ("host field read  p.x", "host_read", "plain call  f()", "lua_call"),
        ("host field read  p.x", "host_read", "table read  t.x", "lua_read"),
        ("host method  p:sum()", "host_method", "plain call  f()", "lua_call"),
    ]
    print("\(iterations) iterations a round, best of 5 rounds, empty loop subtracted; ns per operation")
    print(pad("host operation", 26) + "      ns   " + pad("plain Lua", 18) + "      ns    ratio")
    for (label, host, plainLabel, plain) in rows {
        print(
            pad(label, 26) + figure(ns(host)) + "   " + pad(plainLabel, 18) + figure(ns(plain))
                + String(format: "  %6.1fx", ns(host) / ns(plain)))
    }
}

func probeErrors(count: Int) throws {
    let lua = try makeHost()
    func cycle(_ n: Int) throws {
        for i in 0..<n {
            do { try lua.execute("fail('x\(i % 10)')", chunkName: "=probe") } catch {}
            try lua.execute("return pcall(fail, 'y')", chunkName: "=probe")
            do { try lua.execute("error('lua side')", chunkName: "=probe") } catch {}
            do { try lua.execute("return point(1).z", chunkName: "=probe") } catch {}
        }
    }
    try cycle(max(1000, count / 5))
    let rssBefore = residentBytes()
    let heapBefore = lua.memoryInUse
    try cycle(count)
    print("rss_before=\(rssBefore) rss_after=\(residentBytes()) heap_before=\(heapBefore) heap_after=\(lua.memoryInUse)")
}

/// One load and one save of a store file, timed apart; the process's peak RSS.
func benchStore(path: String) throws {
    let file = JSONStoreFile(path: path)
    let lock = try file.lock(timeout: 10)
    defer { lock.unlock() }
    let t0 = monotonic()
    let loaded = try file.load()
    let t1 = monotonic()
    _ = try file.save(loaded.store, over: loaded.version, audit: AuditBatch(runID: "bench", at: 0, changes: []))
    let t2 = monotonic()
    var encoded = 0
    try loaded.store.encode(revision: 1) { encoded += $0.count }
    let t3 = monotonic()
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    print("load_s=\(t1 - t0) save_s=\(t2 - t1) encode_only_s=\(t3 - t2) peak_rss=\(usage.ru_maxrss * 1024) file_bytes=\(size) jobs=\(loaded.store.jobs.count) messages=\(loaded.store.messages.count)")
}

func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "host": try benchHost(iterations: arguments.count > 1 ? Int(arguments[1]) ?? 10_000_000 : 10_000_000)
    case "errors": try probeErrors(count: arguments.count > 1 ? Int(arguments[1]) ?? 10_000 : 10_000)
    case "store" where arguments.count == 2: try benchStore(path: arguments[1])
    default:
        FileHandle.standardError.write(Data("usage: jobrules-bench host [ITERATIONS] | errors [COUNT] | store FILE\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("jobrules-bench: \(error)\n".utf8))
    exit(1)
}
