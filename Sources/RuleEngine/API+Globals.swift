import LuaHost
import Marketplace

extension Session {
    func installAPI() throws(LuaError) {
        try installObjectTypes()
        unowned(unsafe) let s = self  // the session outlives its VM: deinit closes it

        try lua.setGlobal(
            "jobs",
            namespace: [
                "get": { call in
                    let id = try call.string(1)
                    if let j = s.store.job(id) { s.push(job: j, call) } else { call.pushNil() }
                    return 1
                },
                "where": { call in
                    s.push(list: try s.selectJobs(call), call, s.push(job:_:))
                    return 1
                },
                "each": { call in
                    s.push(list: try s.selectJobs(call), call, s.push(job:_:))
                    call.replaceWithListIterator()
                    return 1
                },
                "count": { call in
                    let filter = try s.jobFilter(call, 1)
                    var n = 0
                    for i in s.store.jobs.indices where filter.matches(s.store, i) { n += 1 }
                    call.push(n)
                    return 1
                },
                "search": { call in
                    let text = try call.string(1)
                    s.push(list: s.store.search(text), call, s.push(job:_:))
                    return 1
                },
            ])

        try lua.setGlobal(
            "orders",
            namespace: [
                "get": { call in
                    let id = try call.string(1)
                    if let o = s.store.order(id) { s.push(order: o, call) } else { call.pushNil() }
                    return 1
                },
                "where": { call in
                    s.push(list: try s.selectOrders(call), call, s.push(order:_:))
                    return 1
                },
                "each": { call in
                    s.push(list: try s.selectOrders(call), call, s.push(order:_:))
                    call.replaceWithListIterator()
                    return 1
                },
                "count": { call in
                    call.push(try s.selectOrders(call).count)
                    return 1
                },
            ])

        try lua.setGlobal(
            "members",
            namespace: [
                "get": { call in
                    let id = try call.string(1)
                    if let m = s.store.member(id) { s.push(member: m, call) } else { call.pushNil() }
                    return 1
                },
                "all": { call in
                    s.push(members: s.store.members.indices, call)
                    return 1
                },
                "for_service": { call in
                    let service = try call.string(1)
                    s.push(members: s.store.members(offering: service), call)
                    return 1
                },
            ])

        try lua.setGlobal(
            "merchants",
            namespace: [
                "get": { call in
                    let id = try call.string(1)
                    if let m = s.store.merchant(id) { s.push(merchant: m, call) } else { call.pushNil() }
                    return 1
                },
                "all": { call in
                    s.push(list: s.store.merchants.indices, call, s.push(merchant:_:))
                    return 1
                },
            ])

        try lua.setGlobal(
            "contacts",
            namespace: [
                "all": { call in
                    s.push(list: s.store.contacts.indices, call, s.push(contact:_:))
                    return 1
                }
            ])

        try lua.setGlobal(
            "outbox",
            namespace: [
                "all": { call in
                    s.push(list: s.store.outbox.indices, call, s.push(outbox:_:))
                    return 1
                }
            ])

        if let agency = types.agency {
            try lua.setGlobal("agency", .object(LuaObject(typeID: agency.typeID, typeName: agency.name, payload: handle(0))))
        }

        try lua.setGlobal("notify") { call in try s.notify(call) }
        try lua.setGlobal("rule") { call in try s.declareRule(call) }
        try lua.setGlobal("now", .integer(now))
        try lua.setGlobal("hours") { call in
            call.push(try Self.seconds(call, per: 3600, unit: "hours"))
            return 1
        }
        try lua.setGlobal("days") { call in
            call.push(try Self.seconds(call, per: 86400, unit: "days"))
            return 1
        }
        try lua.setGlobal(
            "time",
            namespace: [
                "iso": { call in
                    let t = try call.integer(1)
                    guard RFC3339.range.contains(t) else { throw LuaCallError.argument(1, "time out of range (years 1 to 9999)") }
                    call.push(RFC3339.format(t))
                    return 1
                },
                "parse": { call in
                    let text = try call.string(1)
                    if let t = RFC3339.parse(text) {
                        call.push(t)
                        return 1
                    }
                    call.pushNil()
                    call.push("not an RFC 3339 time: \"\(text)\" (expected like 2026-11-21T09:30:00Z)")
                    return 2
                },
            ])
    }

    private func selectJobs(_ call: LuaCall) throws(LuaCallError) -> [Int] {
        let filter = try jobFilter(call, 1)
        var result: [Int] = []
        for i in store.jobs.indices where filter.matches(store, i) { result.append(i) }
        return result
    }

    private func selectOrders(_ call: LuaCall) throws(LuaCallError) -> [Int] {
        let filter = try orderFilter(call, 1)
        var result: [Int] = []
        for i in store.orders.indices where filter.matches(store.orders[i], now: now) { result.append(i) }
        return result
    }

    /// `hours(n)`, `days(n)`: whole seconds.
    static func seconds(_ call: LuaCall, per unit: Double, unit name: String) throws(LuaCallError) -> Int64 {
        let n = try call.number(1)
        let seconds = (n * unit).rounded()
        guard seconds.isFinite, abs(seconds) <= 1e15 else { throw .argument(1, "\(name) out of range") }
        return Int64(seconds)
    }

    /// `notify{to = …, subject = …, body = …, job = …}`: an outbox entry.
    private func notify(_ call: LuaCall) throws(LuaCallError) -> Int32 {
        try call.checkTable(1)
        if notifies.call != lua.outermostCalls { notifies = (lua.outermostCalls, 0) }
        guard notifies.count < Limits.notifiesPerCall else {
            throw .message(
                "notify: more than \(Limits.notifiesPerCall) emails in one call (a rule on one item, a script or a statement): "
                    + "a runaway loop? A rule sends one item's emails at a time")
        }
        let known = ["body", "job", "subject", "to"]
        let (keys, others) = call.stringKeys(1)
        for key in keys where !known.contains(key) {
            throw .message("notify: unknown field '\(key)' (known: \(known.joined(separator: ", ")))")
        }
        if others { throw .message("notify: takes named fields only (\(known.joined(separator: ", ")))") }
        call.rawField(1, "to")
        let address: String
        if let type = types.member, let h = call.optionalObject(-1, type) {
            address = store.members[try member(h)].email
        } else if let to = call.stringValue(-1) {
            if to.utf8.contains(UInt8(ascii: "@")) {
                guard Limits.isEmailAddress(to) else {
                    throw .message("notify: 'to' is not one email address: \(ChangeValue.string(to))")
                }
                address = to
            } else if let m = store.member(to) {
                address = store.members[m].email
            } else {
                throw .message("notify: 'to' is neither an email address nor a member id: \(ChangeValue.string(to))")
            }
        } else {
            throw .message("notify: 'to' must be a member, a member id or an email address, not \(call.describeType(-1))")
        }
        call.pop()
        call.rawField(1, "subject")
        guard let subject = call.stringValue(-1), !subject.isEmpty else {
            throw .message("notify: 'subject' must be a non-empty string")
        }
        guard Limits.lineProblem(subject, limit: Limits.subjectBytes) == nil else {
            throw .message("notify: 'subject' must be one line of at most \(Limits.subjectBytes) bytes, without control characters")
        }
        call.pop()
        call.rawField(1, "body")
        let body: String
        switch call.type(-1) {
        case .nil: body = ""
        case .string:
            body = call.stringValue(-1) ?? ""
            guard body.utf8.count <= Limits.textBytes else {
                throw .message("notify: 'body' longer than \(Limits.textBytes) bytes")
            }
        default: throw .message("notify: 'body' must be a string, not \(call.describeType(-1))")
        }
        call.pop()
        call.rawField(1, "job")
        var job: Int?
        if let type = types.job, let h = call.optionalObject(-1, type) {
            job = try self.job(h)
        } else if let id = call.stringValue(-1) {
            guard let j = store.job(id) else { throw .message("notify: 'job': no job '\(id)'") }
            job = j
        } else if call.type(-1) != .nil {
            throw .message("notify: 'job' must be a job or a job id, not \(call.describeType(-1))")
        }
        call.pop()
        let entry = store.sendEmail(to: address, subject: subject, body: body, job: job, at: now)
        notifies.count += 1
        push(outbox: entry, call)
        return 1
    }
}
