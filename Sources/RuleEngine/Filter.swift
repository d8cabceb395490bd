import LuaHost
import Marketplace

/// A filter table (`{status = {"new", "opened"}, service = "seo"}`) compiled
/// once into Swift: each field is "any of" its values, fields combine with "and".
struct JobFilter {
    static let fields = ["assignee", "id", "merchant", "service", "source", "status", "tag", "unassigned"]

    var ids: Set<String>?
    // A few cases each: a scan of a short array beats hashing (hashing the
    // status of each job was 3% of the shipped rules' time).
    var statuses: [JobStatus]?
    var sources: [JobSource]?
    var services: Set<String>?
    var merchants: Set<Int>?
    var assignees: Set<Int>?
    var unassigned: Bool?
    var tags: Set<String>?

    /// Whether job `i` of `store` matches. Each field is read in place:
    /// passing the job as a value copied it whole (a retain and a release for
    /// each of its strings and arrays, 3% of the shipped rules' time).
    func matches(_ store: Store, _ i: Int) -> Bool {
        if let statuses, !statuses.contains(store.jobs[i].status) { return false }
        if let services, !services.contains(store.jobs[i].service) { return false }
        if let unassigned, store.jobs[i].assignees.isEmpty != unassigned { return false }
        if let sources, !sources.contains(store.jobs[i].source) { return false }
        if let ids, !ids.contains(store.jobs[i].id) { return false }
        if let merchants, !merchants.contains(store.jobs[i].merchant) { return false }
        if let assignees, !store.jobs[i].assignees.contains(where: assignees.contains) { return false }
        if let tags, !store.jobs[i].tags.contains(where: tags.contains) { return false }
        return true
    }
}

/// The views an order filter takes (`view = "active"`).
public let orderViews = OrderFilter.views

struct OrderFilter {
    static let fields = ["buyer", "id", "late", "service", "status", "view"]
    static let views = ["active", "pending", "delivered", "completed", "canceled"]

    var ids: Set<String>?
    var statuses: [OrderStatus]?
    var services: Set<String>?
    var buyers: Set<String>?
    var late: Bool?
    var views: Set<String>?

    func matches(_ order: Order, now: UnixTime) -> Bool {
        if let statuses, !statuses.contains(order.status) { return false }
        if let services, !services.contains(order.service) { return false }
        if let late, order.isLate(at: now) != late { return false }
        if let ids, !ids.contains(order.id) { return false }
        if let buyers, !buyers.contains(order.buyer) { return false }
        if let views, !order.views.contains(where: views.contains) { return false }
        return true
    }
}

/// What a filter table selects.
enum Filter {
    case jobs(JobFilter)
    case orders(OrderFilter)
}

extension Session {
    /// Compiles the filter table at `n` for `collection` (nil or absent: everything).
    func jobFilter(_ call: LuaCall, _ n: Int32) throws(LuaCallError) -> JobFilter {
        var filter = JobFilter()
        guard !call.isNoneOrNil(n) else { return filter }
        let keys = try filterKeys(call, n, collection: "jobs", known: JobFilter.fields)
        for key in keys {
            call.rawField(n, key)
            defer { call.pop() }
            let what = "filter field '\(key)'"
            switch key {
            case "id": filter.ids = Set(try strings(call, what))
            case "service": filter.services = try services(call, what)
            case "status": filter.statuses = try values(call, what, "job status")
            case "source": filter.sources = try values(call, what, "job source")
            case "merchant":
                filter.merchants = try references(
                    call, what, types.merchant, noun: "merchant", resolve: merchant, lookup: store.merchant,
                    known: store.merchants.map { ($0.id, $0.name) },
                    related: { (call, n) throws(LuaCallError) in try self.merchants(matching: call, n, what) })
            case "assignee":
                filter.assignees = try references(
                    call, what, types.member, noun: "member", resolve: member, lookup: store.member,
                    known: store.members.map { ($0.id, $0.name) },
                    related: { (call, n) throws(LuaCallError) in try self.members(matching: call, n, what) })
            case "unassigned": filter.unassigned = try boolean(call, what)
            case "tag": filter.tags = Set(try strings(call, what))
            default: break
            }
        }
        return filter
    }

    func orderFilter(_ call: LuaCall, _ n: Int32) throws(LuaCallError) -> OrderFilter {
        var filter = OrderFilter()
        guard !call.isNoneOrNil(n) else { return filter }
        let keys = try filterKeys(call, n, collection: "orders", known: OrderFilter.fields)
        for key in keys {
            call.rawField(n, key)
            defer { call.pop() }
            let what = "filter field '\(key)'"
            switch key {
            case "id": filter.ids = Set(try strings(call, what))
            case "service": filter.services = try services(call, what)
            case "buyer": filter.buyers = Set(try strings(call, what))
            case "status": filter.statuses = try values(call, what, "order status")
            case "view":
                let views = try strings(call, what)
                for v in views where !OrderFilter.views.contains(v) {
                    throw .message("\(what): unknown view \"\(v)\" (known: \(OrderFilter.views.joined(separator: ", ")))")
                }
                filter.views = Set(views)
            case "late": filter.late = try boolean(call, what)
            default: break
            }
        }
        return filter
    }

    /// The filter's keys, all known, in a stable order.
    private func filterKeys(_ call: LuaCall, _ n: Int32, collection: String, known: [String]) throws(LuaCallError) -> [String] {
        guard call.type(n) == .table else {
            throw .message("a \(collection) filter must be a table like {status = \"new\"}, not a \(call.describeType(n))")
        }
        let (keys, others) = call.stringKeys(n)
        if others || call.rawLength(n) > 0 { throw .message("a \(collection) filter has only named fields (known: \(known.joined(separator: ", ")))") }
        for key in keys where !known.contains(key) {
            throw .message("unknown filter field '\(key)' for \(collection) (known: \(known.joined(separator: ", ")))")
        }
        return keys.sorted()
    }

    /// Calls `body` with the stack index of each value: the value on top, or
    /// each item when it is a list. `object`, when given, takes a table of
    /// named fields instead (a filter on a related object).
    private func each(_ call: LuaCall, _ what: String, _ body: (Int32) throws(LuaCallError) -> Void) throws(LuaCallError) {
        try each(call, what, object: nil, body)
    }

    private func each(
        _ call: LuaCall, _ what: String, object: ((Int32) throws(LuaCallError) -> Void)?,
        _ body: (Int32) throws(LuaCallError) -> Void
    ) throws(LuaCallError) {
        guard call.type(-1) == .table else {
            return try body(call.absolute(-1))
        }
        let list = call.absolute(-1)
        let count = call.rawLength(list)
        let (keys, others) = call.stringKeys(list)
        if let object, !keys.isEmpty, count == 0, !others { return try object(list) }
        guard keys.isEmpty, !others else { throw .message("\(what): a list of values must be a sequence {a, b, …}") }
        for k in 0..<count {
            call.rawIndex(list, k + 1)
            defer { call.pop() }
            try body(call.absolute(-1))
        }
    }

    /// Objects or ids, as store indices. An id the store doesn't have is an
    /// error naming the nearest (a name given for an id, a typo), unless the
    /// session doesn't check ids (`check` against no store). A table of named
    /// fields selects by the related object's fields (`related`).
    private func references(
        _ call: LuaCall, _ what: String, _ type: LuaObjectClass<Handle>?, noun: String,
        resolve: (Handle) throws(LuaCallError) -> Int, lookup: (String) -> Int?, known: @autoclosure () -> [(id: String, name: String)],
        related: @escaping (LuaCall, Int32) throws(LuaCallError) -> Set<Int>
    ) throws(LuaCallError) -> Set<Int> {
        var result = Set<Int>()
        var byFields: Set<Int>?
        try each(call, what, object: { (n) throws(LuaCallError) in byFields = try related(call, n) }) { (k) throws(LuaCallError) in
            if let type, let h = call.optionalObject(k, type) {
                result.insert(try resolve(h))
            } else if let id = call.stringValue(k) {
                if let i = lookup(id) {
                    result.insert(i)
                } else if checksFilterIDs {
                    refusedUnknownID = true
                    throw .message("\(what): no \(noun) with the id \(NearMatches.quoted(id))" + NearMatches.hint(id, among: known(), noun: noun))
                }
            } else {
                throw .message("\(what): expected a \(noun), a \(noun) id or a table of its fields, got \(call.describeType(k))")
            }
        }
        return byFields ?? result
    }

    /// Service ids: an id neither the agency offers nor any job or order has is an error naming the nearest.
    private func services(_ call: LuaCall, _ what: String) throws(LuaCallError) -> Set<String> {
        let given = Set(try strings(call, what))
        guard checksFilterIDs else { return given }
        for id in given.sorted() where !store.hasService(id) {
            refusedUnknownID = true
            let offered = store.agency.services.map { ($0.id, $0.name) }
            throw .message(
                "\(what): no service with the id \(NearMatches.quoted(id))"
                    + NearMatches.hint(id, among: offered + store.serviceIDs.map { ($0, $0) }, noun: "service"))
        }
        return given
    }

    static let merchantFields = ["country", "dropshipper", "id", "industry", "name"]
    static let memberFields = ["active", "id", "name", "role", "service"]

    /// The merchants whose fields match the table at `n` (each field any of its values).
    private func merchants(matching call: LuaCall, _ n: Int32, _ what: String) throws(LuaCallError) -> Set<Int> {
        try related(
            call, n, what, noun: "merchant", fields: Self.merchantFields, count: store.merchants.count,
            flag: (name: "dropshipper", of: { self.store.merchants[$0].dropshipper }),
            values: { (call, field, _) throws(LuaCallError) in Set(try self.strings(call, field)) },
            has: { i, key, values in
                let m = self.store.merchants[i]
                switch key {
                case "id": return values.contains(m.id)
                case "name": return values.contains(m.name)
                case "industry": return m.industry.map(values.contains) ?? false
                default: return m.country.map(values.contains) ?? false
                }
            })
    }

    /// The members whose fields match the table at `n` (each field any of its values).
    private func members(matching call: LuaCall, _ n: Int32, _ what: String) throws(LuaCallError) -> Set<Int> {
        try related(
            call, n, what, noun: "member", fields: Self.memberFields, count: store.members.count,
            flag: (name: "active", of: { self.store.members[$0].active }),
            values: { (call, field, key) throws(LuaCallError) in
                key == "service" ? try self.services(call, field) : Set(try self.strings(call, field))
            },
            has: { i, key, values in
                let m = self.store.members[i]
                switch key {
                case "id": return values.contains(m.id)
                case "name": return values.contains(m.name)
                case "role": return values.contains(m.role)
                default: return m.services.contains(where: values.contains)
                }
            })
    }

    /// The indices (of `count` objects) whose fields match the table at `n`:
    /// `flag` a boolean field, the others any of their string values (`has`).
    private func related(
        _ call: LuaCall, _ n: Int32, _ what: String, noun: String, fields: [String], count: Int,
        flag: (name: String, of: (Int) -> Bool),
        values: (LuaCall, String, String) throws(LuaCallError) -> Set<String>,
        has: (Int, String, Set<String>) -> Bool
    ) throws(LuaCallError) -> Set<Int> {
        var matching = Set(0..<count)
        let (keys, _) = call.stringKeys(n)
        for key in keys.sorted() {
            guard fields.contains(key) else {
                throw .message("\(what): unknown \(noun) field '\(key)' (known: \(fields.joined(separator: ", ")))")
            }
            call.rawField(n, key)
            defer { call.pop() }
            let field = "\(what).\(key)"
            if key == flag.name {
                let wanted = try boolean(call, field)
                matching = matching.filter { flag.of($0) == wanted }
            } else {
                let given = try values(call, field, key)
                matching = matching.filter { has($0, key, given) }
            }
        }
        return matching
    }

    private func strings(_ call: LuaCall, _ what: String) throws(LuaCallError) -> [String] {
        var result: [String] = []
        try each(call, what) { (k) throws(LuaCallError) in
            guard let s = call.stringValue(k) else {
                throw .message("\(what): expected a string or a list of strings, got \(call.describeType(k))")
            }
            result.append(s)
        }
        return result
    }

    /// The filter value's strings as an enum's cases; an unknown one is an error listing the known.
    /// The cases named, each once.
    private func values<E: RawRepresentable & CaseIterable & Equatable>(_ call: LuaCall, _ what: String, _ kind: String)
        throws(LuaCallError) -> [E] where E.RawValue == String
    {
        var result: [E] = []
        for s in try strings(call, what) {
            guard let value = E(rawValue: s) else {
                let known = E.allCases.map(\.rawValue).joined(separator: ", ")
                throw .message("\(what): unknown \(kind) \"\(s)\" (known: \(known))")
            }
            if !result.contains(value) { result.append(value) }
        }
        return result
    }

    private func boolean(_ call: LuaCall, _ what: String) throws(LuaCallError) -> Bool {
        guard call.type(-1) == .boolean else { throw .message("\(what): expected true or false, got \(call.describeType(-1))") }
        return call.truth(-1)
    }
}
