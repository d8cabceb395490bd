import LuaHost
import Marketplace

/// A store object as Lua holds it: its index in the store's collection and the
/// generation of the store it came from (a reloaded store is a new generation,
/// and objects from the old one refuse to be used instead of pointing at the
/// wrong record).
///
/// Messages and emails a rollback removed leave their index to the next ones
/// added: their handles also carry the object's stamp (`Store.stamp`), so
/// that a handle kept across a rollback refuses instead of reading its
/// successor.
public struct Handle: Hashable, Sendable {
    let index: Int32
    let generation: UInt32
    var stamp: UInt32 = 0
}

/// A Lua VM with the marketplace API (docs/lua-api.md) bound to one store and one clock.
///
/// Every change a script makes goes through the `Store`'s actions, so the
/// domain's transitions hold and each change is recorded with `store.actor`.
/// Rules declared by the chunks it runs are collected in `rules`.
public final class Session {
    public let lua: LuaState
    public private(set) var store: Store
    /// The clock of the run: `now` in Lua, and the time of every action.
    public private(set) var now: UnixTime
    var generation: UInt32 = 1
    /// The member objects of `generation`, by index (see `push(member:_:)`).
    private var memberObjects: (generation: UInt32, table: LuaReference)?
    let types = ObjectTypes()
    /// Rules declared so far, in declaration order.
    public internal(set) var rules: [Rule] = []
    /// When set, `rule{…}` records what is wrong with a declaration here and
    /// returns, so that every problem of a file is found (`jobrules check`);
    /// otherwise a bad declaration is an error.
    public var collectsProblems = false
    /// Whether a filter's member, merchant and service ids must be the
    /// store's (off for `check` without a store, whose store is empty).
    public var checksFilterIDs = true
    public internal(set) var problems: [RuleProblem] = []
    /// Rules (kind `rule`) whose `where` table names an id the store doesn't
    /// have, found while loading rule files: the store's data, not the file,
    /// is at odds with them, so they fail alone and the others run.
    var dataFailures: [RuleFailure] = []
    /// The rules of `dataFailures` while rule files load, by name, where they
    /// were declared: their names stay taken.
    var failedAlone: [String: LuaPosition?] = [:]
    /// Set by a filter that refuses an id the store doesn't have.
    var refusedUnknownID = false
    /// When set, declaring a rule under a taken name replaces the earlier
    /// rule (at a prompt, where a rule is refined by declaring it again).
    public var redeclaresRules = false
    /// Whether a rule run can be rolled back as a whole afterwards (the REPL's
    /// `undo`). A batch saves a run's changes or drops them all, so it doesn't
    /// keep every changed object's old value to the end (a log that grew by
    /// copying on 100 000 jobs): each item's changes are kept for good once
    /// its rule succeeds.
    public var keepsRunUndo = true
    /// `notify` calls in the current outermost call into Lua (which it was,
    /// and how many): at most `Limits.notifiesPerCall`.
    var notifies: (call: UInt64, count: Int) = (0, 0)

    public init(store: Store, now: UnixTime, limits: LuaLimits = .default,
                output: @escaping (UnsafeRawBufferPointer) -> Void = LuaState.standardOutput) throws(LuaError) {
        lua = try LuaState(limits: limits, output: output)
        self.store = store
        self.now = now
        try installAPI()
        lua.countHostMemory(store.heldBytes, owner: store)
    }

    /// Closes the VM (the session can't run code afterwards).
    public func close() {
        for rule in rules { rule.release(in: lua) }
        rules.removeAll()
        lua.close()
    }

    // The API's functions reach the session without retaining it (an
    // `unowned(unsafe)` capture, which costs nothing per call): the VM must
    // not outlive it, even when someone still holds `lua`.
    deinit { close() }

    /// Binds the session to another store (a reload): objects from the old one stop working.
    public func replace(store: Store, now: UnixTime) throws(LuaError) {
        self.store = store
        self.now = now
        lua.countHostMemory(store.heldBytes, owner: store)
        generation &+= 1
        lua.forgetConstantFields()  // the old members' ids and names: those objects now refuse to be read
        try lua.setGlobal("now", .integer(now))
    }

    /// Runs `load` (chunks that declare rules) and returns the rules it
    /// declared, leaving the session's own rules as they were. The caller
    /// releases them when done.
    public func declaredRules(by load: () -> Void) -> [Rule] {
        let own = rules
        rules = []
        load()
        let declared = rules
        rules = own
        return declared
    }

    /// Lets the VM drop rules that `declaredRules(by:)` returned.
    public func release(_ rules: [Rule]) {
        for rule in rules { rule.release(in: lua) }
    }

    // MARK: Running chunks

    /// Compiles and runs a file's text as `@path` (errors say `path:LINE:`).
    @discardableResult
    public func run(file path: String, source: [UInt8]) throws(LuaError) -> [LuaValue] {
        try lua.execute(bytes: source, chunkName: "@" + path)
    }

    // MARK: Handles

    func handle(_ index: Int) -> Handle { Handle(index: Int32(truncatingIfNeeded: index), generation: generation) }

    func resolve(_ h: Handle, count: Int, kind: String) throws(LuaCallError) -> Int {
        guard h.generation == generation, Int(h.index) < count else {
            throw .message("this \(kind) object belongs to a store that was reloaded or rolled back: get it again")
        }
        return Int(h.index)
    }

    func job(_ h: Handle) throws(LuaCallError) -> Int { try resolve(h, count: store.jobs.count, kind: "job") }
    func member(_ h: Handle) throws(LuaCallError) -> Int { try resolve(h, count: store.members.count, kind: "member") }
    func merchant(_ h: Handle) throws(LuaCallError) -> Int { try resolve(h, count: store.merchants.count, kind: "merchant") }
    func order(_ h: Handle) throws(LuaCallError) -> Int { try resolve(h, count: store.orders.count, kind: "order") }
    func message(_ h: Handle) throws(LuaCallError) -> Int {
        let i = try resolve(h, count: store.messages.count, kind: "message")
        guard store.stamp(message: i) == h.stamp else { throw Self.rolledBack("message") }
        return i
    }
    func contact(_ h: Handle) throws(LuaCallError) -> Int { try resolve(h, count: store.contacts.count, kind: "contact") }
    func outboxEntry(_ h: Handle) throws(LuaCallError) -> Int {
        let i = try resolve(h, count: store.outbox.count, kind: "outbox entry")
        guard store.stamp(outbox: i) == h.stamp else { throw Self.rolledBack("outbox entry") }
        return i
    }

    static func rolledBack(_ kind: String) -> LuaCallError {
        .message("this \(kind) object was rolled back (an error or an undo removed it): it no longer exists")
    }

    // MARK: Pushing objects

    /// Pushes exactly one value: the object, or nil if its type were not registered.
    private func push(_ type: LuaObjectClass<Handle>?, _ i: Int, _ call: LuaCall) {
        if let type { call.push(handle(i), as: type) } else { call.pushNil() }
    }

    func push(job i: Int, _ call: LuaCall) { push(types.job, i, call) }
    /// Pushes the object of member `i`. A team is small and every job asks
    /// for its members (`members.for_service`), so each member's object is
    /// made once per store generation and kept in a table of the registry.
    func push(member i: Int, _ call: LuaCall) {
        guard let type = types.member else { return call.pushNil() }
        pushMemberObjects(call)
        pushKept(member: i, type, call)
        call.remove(-2)
    }

    /// Pushes a list of member objects, the kept objects' table looked up
    /// once for the list rather than once a member.
    func push(members indices: some Collection<Int>, _ call: LuaCall) {
        call.newTable(array: indices.count)
        guard let type = types.member else { return }
        pushMemberObjects(call)
        var n = 1
        for i in indices {
            pushKept(member: i, type, call)
            call.setIndex(n, table: -3)
            n += 1
        }
        call.pop()
    }

    /// Pushes the table of the member objects kept for this generation.
    private func pushMemberObjects(_ call: LuaCall) {
        if let kept = memberObjects, kept.generation == generation { return call.push(kept.table) }
        if let kept = memberObjects { lua.release(kept.table) }
        call.newTable(array: store.members.count)
        memberObjects = (generation, call.reference(-1))
    }

    /// Pushes member `i`'s object from the kept objects' table on top,
    /// making it the first time.
    private func pushKept(member i: Int, _ type: LuaObjectClass<Handle>, _ call: LuaCall) {
        if call.rawIndex(-1, i + 1) == .nil {
            call.pop()
            call.push(handle(i), as: type)
            call.copy(-1)
            call.setIndex(i + 1, table: -3)
        }
    }
    func push(merchant i: Int, _ call: LuaCall) { push(types.merchant, i, call) }
    func push(order i: Int, _ call: LuaCall) { push(types.order, i, call) }
    func push(message i: Int, _ call: LuaCall) {
        guard let type = types.message else { return call.pushNil() }
        var h = handle(i)
        h.stamp = store.stamp(message: i)
        call.push(h, as: type)
    }
    func push(contact i: Int, _ call: LuaCall) { push(types.contact, i, call) }
    func push(outbox i: Int, _ call: LuaCall) {
        guard let type = types.outbox else { return call.pushNil() }
        var h = handle(i)
        h.stamp = store.stamp(outbox: i)
        call.push(h, as: type)
    }

    /// Pushes a sequence of objects.
    func push(list indices: some Collection<Int>, _ call: LuaCall, _ pushOne: (Int, LuaCall) -> Void) {
        call.newTable(array: indices.count)
        var n = 1
        for i in indices {
            pushOne(i, call)
            call.setIndex(n)
            n += 1
        }
    }

    // MARK: Arguments

    /// A member argument: a member object or a member id.
    func memberArgument(_ call: LuaCall, _ n: Int32) throws(LuaCallError) -> Int {
        if let type = types.member, let h = call.optionalObject(n, type) { return try member(h) }
        if let id = call.stringValue(n) {
            guard let m = store.member(id) else { throw .argument(n, "no member '\(id)'") }
            return m
        }
        throw .type(n, expected: "member or member id")
    }

    /// A text argument (a string, valid UTF-8), at most `limit` bytes.
    func textArgument(_ call: LuaCall, _ n: Int32, what: String, limit: Int = Limits.textBytes) throws(LuaCallError) -> String {
        guard call.type(n) == .string else { throw .type(n, expected: "string") }
        let text = try call.string(n)
        guard text.utf8.count <= limit else { throw .argument(n, "\(what) longer than \(limit) bytes") }
        return text
    }
}

/// The registered host object types of a session (set once while installing the API).
final class ObjectTypes {
    var job: LuaObjectClass<Handle>?
    var member: LuaObjectClass<Handle>?
    var merchant: LuaObjectClass<Handle>?
    var order: LuaObjectClass<Handle>?
    var message: LuaObjectClass<Handle>?
    var contact: LuaObjectClass<Handle>?
    var outbox: LuaObjectClass<Handle>?
    var agency: LuaObjectClass<Handle>?
}

extension LuaCall {
    /// Pushes a time (integer Unix seconds) or nil.
    func push(time: UnixTime?) {
        if let time { push(time) } else { pushNil() }
    }

    /// Pushes a number as an integer when it has an integer value.
    func push(amount: Double?) {
        guard let amount else { return pushNil() }
        if let i = Int64(exactly: amount) { push(i) } else { push(amount) }
    }

    /// `table[key] = value` for the table on top.
    func set(_ key: String, _ value: String?) {
        push(value)
        setField(key)
    }

    func set(_ key: String, _ value: Int64) {
        push(value)
        setField(key)
    }

    func set(_ key: String, _ value: Bool) {
        push(value)
        setField(key)
    }

    func set(_ key: String, time: UnixTime?) {
        push(time: time)
        setField(key)
    }

    func set(_ key: String, amount: Double?) {
        push(amount: amount)
        setField(key)
    }

    /// Pushes an array of strings.
    func push(strings: [String]) {
        newTable(array: strings.count)
        for (k, s) in strings.enumerated() {
            push(s)
            setIndex(k + 1)
        }
    }
}
