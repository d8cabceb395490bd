import LuaHost
import Marketplace

// The host object types of the Lua API (docs/lua-api.md). Fields are read-only: every change goes
// through a method, which goes through the Store's transitions.

/// A job read where it lies in the store, one property at a time: a getter
/// given the `Job` itself copied it whole (retaining and releasing each of its
/// fields) on every field read.
@dynamicMemberLookup
struct JobInPlace {
    let store: Store
    let index: Int

    @inline(__always)
    subscript<T>(dynamicMember property: KeyPath<Job, T>) -> T { store.jobs[index][keyPath: property] }
}

/// Runs a domain action, turning its refusal into a Lua error that names the object.
@inline(__always)
func act<E: Error & CustomStringConvertible>(_ body: () throws(E) -> Void) throws(LuaCallError) {
    do { try body() } catch { throw .message(error.description) }
}

extension Session {
    func installObjectTypes() throws(LuaError) {
        types.member = try lua.register(shownSafely(memberType()))
        types.merchant = try lua.register(shownSafely(merchantType()))
        types.job = try lua.register(shownSafely(jobType()))
        types.message = try lua.register(shownSafely(messageType()))
        types.order = try lua.register(shownSafely(orderType()))
        types.contact = try lua.register(shownSafely(contactType()))
        types.outbox = try lua.register(shownSafely(outboxType()))
        types.agency = try lua.register(shownSafely(agencyType()))
    }

    /// The type with its summaries (`tostring`, the REPL) made safe to print:
    /// they show names and ids from the store, whose control characters are
    /// escaped (`String.terminalSafe`).
    private func shownSafely(_ type: LuaObjectType<Handle>) -> LuaObjectType<Handle> {
        guard let describe = type.describe else { return type }
        return LuaObjectType(name: type.name, fields: type.fields, methods: type.methods) { describe($0).terminalSafe() }
    }

    // MARK: Job

    func jobType() -> LuaObjectType<Handle> {
        unowned(unsafe) let s = self  // the session outlives its VM: deinit closes it
        typealias F = LuaField<Handle>
        typealias M = LuaMethod<Handle>
        func field(_ name: String, _ get: @escaping (JobInPlace, LuaCall) throws(LuaCallError) -> Void) -> F {
            F(name) { h, call in try get(JobInPlace(store: s.store, index: try s.job(h)), call) }
        }
        let fields: [F] = [
            field("id") { job, call in call.push(job.id) },
            field("source") { job, call in call.push(job.source.rawValue) },
            field("status") { job, call in call.push(job.status.rawValue) },
            field("service") { job, call in call.push(job.service) },
            field("title") { job, call in call.push(job.title.string) },
            field("details") { job, call in call.push(job.details.string) },
            field("budget") { job, call in
                guard let b = job.budget else { return call.pushNil() }
                call.newTable(fields: 3)
                call.set("min", amount: b.min)
                call.set("max", amount: b.max)
                call.set("currency", b.currency)
            },
            field("priorities") { job, call in
                guard let p = job.priorities else { return call.pushNil() }
                call.newTable(fields: 3)
                call.set("time", p.time?.rawValue)
                call.set("cost", p.cost?.rawValue)
                call.set("quality", p.quality?.rawValue)
            },
            field("created_at") { job, call in call.push(job.createdAt) },
            field("opened_at") { job, call in call.push(time: job.openedAt) },
            field("first_response_at") { job, call in call.push(time: job.firstResponseAt) },
            field("expires_at") { job, call in call.push(time: job.expiresAt) },
            field("hours_left") { job, call in
                guard let expires = job.expiresAt else { return call.pushNil() }
                call.push(Double(expires - s.now) / 3600)
            },
            field("merchant") { job, call in s.push(merchant: job.merchant, call) },
            field("assignees") { job, call in s.push(members: job.assignees, call) },
            field("tags") { job, call in call.push(strings: job.tags) },
            field("notes") { job, call in
                call.newTable(array: job.notes.count)
                for (k, note) in job.notes.enumerated() {
                    call.newTable(fields: 3)
                    if let author = note.author, let m = s.store.member(author) {
                        s.push(member: m, call)
                    } else {
                        call.push(note.author)
                    }
                    call.setField("author")
                    call.set("at", note.at)
                    call.set("text", note.text.string)
                    call.setIndex(k + 1)
                }
            },
            F("messages") { h, call in
                let j = try s.job(h)
                s.push(list: s.store.messages(ofJob: j), call, s.push(message:_:))
            },
            F("last_message") { h, call in
                let j = try s.job(h)
                if let m = s.store.lastMessage(ofJob: j) { s.push(message: m, call) } else { call.pushNil() }
            },
            field("declined") { job, call in
                guard let d = job.declined else { return call.pushNil() }
                call.newTable(fields: 3)
                call.set("by", d.by.rawValue)
                call.set("at", d.at)
                call.set("reason", d.reason)
            },
            field("completed_at") { job, call in call.push(time: job.completedAt) },
        ]
        func method(_ name: String, _ body: @escaping (Int, LuaCall) throws -> Int32) -> M {
            M(name) { h, call in try body(try s.job(h), call) }
        }
        let methods: [M] = [
            method("open") { j, _ in
                try act { () throws(TransitionError) in try s.store.open(job: j, at: s.now) }
                return 0
            },
            method("reply") { j, call in
                let text = try s.textArgument(call, 2, what: "a reply")
                let member = call.isNoneOrNil(3) ? nil : try s.memberArgument(call, 3)
                var message = 0
                try act { () throws(DomainError) in message = try s.store.reply(job: j, text: text, member: member, at: s.now) }
                s.push(message: message, call)
                return 1
            },
            method("decline") { j, call in
                let reason = try s.textArgument(call, 2, what: "a reason", limit: Limits.reasonBytes)
                guard !reason.isEmpty else { throw LuaCallError.argument(2, "a decline needs a reason") }
                try act { () throws(TransitionError) in try s.store.decline(job: j, reason: reason, at: s.now) }
                return 0
            },
            method("mark_inactive") { j, _ in
                try act { () throws(TransitionError) in try s.store.markInactive(job: j) }
                return 0
            },
            method("reactivate") { j, _ in
                try act { () throws(TransitionError) in try s.store.reactivate(job: j) }
                return 0
            },
            method("complete") { j, _ in
                try act { () throws(TransitionError) in try s.store.complete(job: j, at: s.now) }
                return 0
            },
            method("assign") { j, call in
                let m = try s.memberArgument(call, 2)
                try act { () throws(DomainError) in try s.store.assign(job: j, member: m, at: s.now) }
                return 0
            },
            method("unassign") { j, call in
                let m = try s.memberArgument(call, 2)
                try act { () throws(TransitionError) in try s.store.unassign(job: j, member: m) }
                return 0
            },
            method("note") { j, call in
                let text = try s.textArgument(call, 2, what: "a note")
                let member = call.isNoneOrNil(3) ? nil : try s.memberArgument(call, 3)
                try act { () throws(TransitionError) in try s.store.note(job: j, text: text, member: member, at: s.now) }
                return 0
            },
            method("tag") { j, call in
                let name = try s.textArgument(call, 2, what: "a tag")
                try act { () throws(DomainError) in try s.store.tag(job: j, name) }
                return 0
            },
            method("untag") { j, call in
                let name = try s.textArgument(call, 2, what: "a tag")
                try act { () throws(DomainError) in try s.store.untag(job: j, name) }
                return 0
            },
            method("has_tag") { j, call in
                let name = try s.textArgument(call, 2, what: "a tag")
                call.push(s.store.jobs[j].tags.contains(name))
                return 1
            },
        ]
        return LuaObjectType(name: "Job", fields: fields, methods: methods) { h in s.describe(job: h) }
    }

    /// `Job J-5 [awaiting_response] seo · Drop Co · 2 messages · 38h left`
    func describe(job h: Handle) -> String {
        guard let j = try? job(h) else { return "Job (from a reloaded store)" }
        let job = store.jobs[j]
        var parts = ["Job \(job.id) [\(job.status.rawValue)] \(job.service)", store.merchants[job.merchant].name]
        let messages = store.messages(ofJob: j).count
        parts.append("\(messages) message\(messages == 1 ? "" : "s")")
        if !job.assignees.isEmpty { parts.append("→ " + job.assignees.map { store.members[$0].id }.joined(separator: ", ")) }
        if let expires = job.expiresAt {
            let left = Double(expires - now) / 3600
            parts.append(left >= 0 ? "\(Self.hours(left)) left" : "due to expire")
        }
        return parts.joined(separator: " · ")
    }

    static func hours(_ h: Double) -> String {
        h >= 10 || h == h.rounded() ? "\(Int(h.rounded(.down)))h" : "\((h * 10).rounded(.down) / 10)h"
    }

    // MARK: Member, merchant

    func memberType() -> LuaObjectType<Handle> {
        unowned(unsafe) let s = self  // the session outlives its VM: deinit closes it
        // Getters take the member's index and read the one field they push:
        // handing them the member by value copied (retained and released)
        // every field of it on each read.
        // A store's members never change (only a reload replaces them), so
        // all but `open_jobs` are constant: rules read them for every job.
        func field(_ name: String, constant: Bool = true, _ get: @escaping (Int, LuaCall) -> Void) -> LuaField<Handle> {
            LuaField(name, constant: constant) { h, call in get(try s.member(h), call) }
        }
        return LuaObjectType(
            name: "Member",
            fields: [
                field("id") { i, call in call.push(s.store.members[i].id) },
                field("name") { i, call in call.push(s.store.members[i].name) },
                field("email") { i, call in call.push(s.store.members[i].email) },
                field("role") { i, call in call.push(s.store.members[i].role) },
                field("services") { i, call in call.push(strings: s.store.members[i].services) },
                field("active") { i, call in call.push(s.store.members[i].active) },
                field("open_jobs", constant: false) { i, call in call.push(s.store.openJobs(ofMember: i)) },
            ]
        ) { h in
            guard let i = try? s.member(h) else { return "Member (from a reloaded store)" }
            let m = s.store.members[i]
            let open = s.store.openJobs(ofMember: i)
            return "Member \(m.id) \(m.name) (\(m.role)\(m.active ? "" : ", inactive")) · \(open) open job\(open == 1 ? "" : "s")"
        }
    }

    func merchantType() -> LuaObjectType<Handle> {
        unowned(unsafe) let s = self  // the session outlives its VM: deinit closes it
        // As for members: the getter reads one field where the merchant lies.
        func field(_ name: String, _ get: @escaping (Int, LuaCall) -> Void) -> LuaField<Handle> {
            LuaField(name) { h, call in get(try s.merchant(h), call) }
        }
        return LuaObjectType(
            name: "Merchant",
            fields: [
                field("id") { i, call in call.push(s.store.merchants[i].id) },
                field("name") { i, call in call.push(s.store.merchants[i].name) },
                field("store") { i, call in call.push(s.store.merchants[i].store) },
                field("email") { i, call in call.push(s.store.merchants[i].email) },
                field("dropshipper") { i, call in call.push(s.store.merchants[i].dropshipper) },
                field("industry") { i, call in call.push(s.store.merchants[i].industry) },
                field("country") { i, call in call.push(s.store.merchants[i].country) },
            ]
        ) { h in
            guard let i = try? s.merchant(h) else { return "Merchant (from a reloaded store)" }
            let m = s.store.merchants[i]
            return "Merchant \(m.id) \(m.name)\(m.dropshipper ? " (dropshipper)" : "")"
        }
    }

    // MARK: Message, contact, outbox

    func messageType() -> LuaObjectType<Handle> {
        unowned(unsafe) let s = self  // the session outlives its VM: deinit closes it
        func field(_ name: String, _ get: @escaping (Message, LuaCall) -> Void) -> LuaField<Handle> {
            LuaField(name) { h, call in get(s.store.messages[try s.message(h)], call) }
        }
        return LuaObjectType(
            name: "Message",
            fields: [
                field("id") { m, call in call.push(m.id) },
                field("job") { m, call in s.push(job: m.job, call) },
                field("from") { m, call in call.push(m.from.stored) },
                field("author") { m, call in
                    if case .member(let id) = m.from, let i = s.store.member(id) { s.push(member: i, call) } else { call.pushNil() }
                },
                field("at") { m, call in call.push(m.at) },
                field("body") { m, call in call.push(m.body.string) },
            ]
        ) { h in
            guard let i = try? s.message(h) else { return "Message (gone: rolled back, or from a reloaded store)" }
            let m = s.store.messages[i]
            return "Message \(m.id) on \(s.store.jobs[m.job].id) from \(m.from.stored) at \(RFC3339.format(m.at))"
        }
    }

    func contactType() -> LuaObjectType<Handle> {
        unowned(unsafe) let s = self  // the session outlives its VM: deinit closes it
        func field(_ name: String, _ get: @escaping (Contact, LuaCall) -> Void) -> LuaField<Handle> {
            LuaField(name) { h, call in get(s.store.contacts[try s.contact(h)], call) }
        }
        return LuaObjectType(
            name: "Contact",
            fields: [
                field("id") { c, call in call.push(c.id) },
                field("name") { c, call in call.push(c.name) },
                field("email") { c, call in call.push(c.email) },
                field("at") { c, call in call.push(c.at) },
                field("message") { c, call in call.push(c.message.string) },
            ]
        ) { h in
            guard let i = try? s.contact(h) else { return "Contact (from a reloaded store)" }
            let c = s.store.contacts[i]
            return "Contact \(c.id) \(c.name) <\(c.email)>"
        }
    }

    func outboxType() -> LuaObjectType<Handle> {
        unowned(unsafe) let s = self  // the session outlives its VM: deinit closes it
        func field(_ name: String, _ get: @escaping (OutboxEntry, LuaCall) -> Void) -> LuaField<Handle> {
            LuaField(name) { h, call in get(s.store.outbox[try s.outboxEntry(h)], call) }
        }
        return LuaObjectType(
            name: "Email",
            fields: [
                field("id") { e, call in call.push(e.id) },
                field("to") { e, call in call.push(e.to) },
                field("subject") { e, call in call.push(e.subject) },
                field("body") { e, call in call.push(e.body.string) },
                field("job") { e, call in if let j = e.job { s.push(job: j, call) } else { call.pushNil() } },
                field("at") { e, call in call.push(e.at) },
            ]
        ) { h in
            guard let i = try? s.outboxEntry(h) else { return "Email (rolled back)" }
            let e = s.store.outbox[i]
            return "Email \(e.id) to \(e.to): \(e.subject)"
        }
    }

    // MARK: Order

    func orderType() -> LuaObjectType<Handle> {
        unowned(unsafe) let s = self  // the session outlives its VM: deinit closes it
        typealias F = LuaField<Handle>
        func field(_ name: String, _ get: @escaping (Order, LuaCall) -> Void) -> F {
            F(name) { h, call in get(s.store.orders[try s.order(h)], call) }
        }
        func pushRequest(_ r: ExtensionRequest, _ call: LuaCall) {
            call.newTable(fields: 5)
            call.set("days", r.days)
            call.set("reason", r.reason)
            call.set("at", r.at)
            call.set("status", r.status.rawValue)
            call.set("answered_at", time: r.answeredAt)
        }
        let fields: [F] = [
            field("id") { o, call in call.push(o.id) },
            field("buyer") { o, call in call.push(o.buyer) },
            field("service") { o, call in call.push(o.service) },
            field("status") { o, call in call.push(o.status.rawValue) },
            field("placed_at") { o, call in call.push(o.placedAt) },
            field("due_at") { o, call in call.push(o.dueAt) },
            field("delivered_at") { o, call in call.push(time: o.deliveredAt) },
            field("completed_at") { o, call in call.push(time: o.completedAt) },
            field("canceled") { o, call in
                guard let c = o.canceled else { return call.pushNil() }
                call.newTable(fields: 2)
                call.set("by", c.by.rawValue)
                call.set("at", c.at)
            },
            field("hours_to_due") { o, call in call.push(o.hoursToDue(at: s.now)) },
            field("late") { o, call in call.push(o.isLate(at: s.now)) },
            field("views") { o, call in call.push(strings: o.views) },
            field("extension_requests") { o, call in
                call.newTable(array: o.extensionRequests.count)
                for (k, r) in o.extensionRequests.enumerated() {
                    pushRequest(r, call)
                    call.setIndex(k + 1)
                }
            },
            field("pending_extension") { o, call in
                if let r = o.pendingExtension { pushRequest(r, call) } else { call.pushNil() }
            },
            field("updates") { o, call in
                call.newTable(array: o.updates.count)
                for (k, u) in o.updates.enumerated() {
                    call.newTable(fields: 2)
                    call.set("at", u.at)
                    call.set("text", u.text.string)
                    call.setIndex(k + 1)
                }
            },
        ]
        func method(_ name: String, _ body: @escaping (Int, LuaCall) throws -> Void) -> LuaMethod<Handle> {
            LuaMethod(name) { h, call in
                try body(try s.order(h), call)
                return 0
            }
        }
        let methods = [
            method("start") { o, _ in try act { () throws(OrderError) in try s.store.start(order: o) } },
            method("post_update") { o, call in
                let text = try s.textArgument(call, 2, what: "an update")
                try act { () throws(OrderError) in try s.store.postUpdate(order: o, text: text, at: s.now) }
            },
            method("deliver") { o, _ in try act { () throws(OrderError) in try s.store.deliver(order: o, at: s.now) } },
            method("request_extension") { o, call in
                let days = try call.integer(2)
                let reason = try s.textArgument(call, 3, what: "a reason", limit: Limits.reasonBytes)
                guard !reason.isEmpty else { throw LuaCallError.argument(3, "an extension request needs a reason") }
                try act { () throws(OrderError) in try s.store.requestExtension(order: o, days: days, reason: reason, at: s.now) }
            },
        ]
        return LuaObjectType(name: "Order", fields: fields, methods: methods) { h in
            guard let i = try? s.order(h) else { return "Order (from a reloaded store)" }
            let o = s.store.orders[i]
            var text = "Order \(o.id) [\(o.status.rawValue)] \(o.service) · \(o.buyer)"
            if o.isActive {
                let h = o.hoursToDue(at: s.now)
                text += h < 0 ? " · late by \(Self.hours(-h))" : " · due in \(Self.hours(h))"
            }
            if let r = o.pendingExtension { text += " · extension of \(r.days) days pending" }
            return text
        }
    }

    // MARK: Agency

    func agencyType() throws(LuaError) -> LuaObjectType<Handle> {
        unowned(unsafe) let s = self  // the session outlives its VM: deinit closes it
        let offers = try lua.reference { call in
            let service = try call.string(1)
            call.push(s.store.agency.offers(service))
            return 1
        }
        let setPreference = try lua.reference { call in
            let name = try call.string(1)
            let value: PreferenceValue
            switch call.type(2) {
            case .boolean: value = .flag(call.truth(2))
            case .string: value = .email(try call.string(2))
            default: throw LuaCallError.type(2, expected: "boolean or string")
            }
            try act { () throws(DomainError) in try s.store.setPreference(name, value) }
            return 0
        }
        // Rule 1 reads `agency.services` for every job.
        let servicesTable = KeptTable<[Service]>(depth: 2)
        let preferencesTable = KeptTable<Preferences>(depth: 1)
        return LuaObjectType(
            name: "Agency",
            fields: [
                LuaField("name") { _, call in call.push(s.store.agency.name) },
                LuaField("services") { _, call in
                    // Only a reload changes the services (comparing the arrays checks their identity first).
                    let services = s.store.agency.services
                    servicesTable.push(services, call, in: s.lua) {
                        call.newTable(array: services.count)
                        for (k, service) in services.enumerated() {
                            call.newTable(fields: 4)
                            call.set("id", service.id)
                            call.set("name", service.name)
                            call.set("min_budget", amount: service.minBudget)
                            call.set("currency", service.currency)
                            call.setIndex(k + 1)
                        }
                    }
                },
                LuaField("preferences") { _, call in
                    let p = s.store.agency.preferences
                    preferencesTable.push(p, call, in: s.lua) {
                        call.newTable(fields: 4)
                        call.set("available", p.available)
                        call.set("listed_in_search", p.listedInSearch)
                        call.set("works_with_dropshippers", p.worksWithDropshippers)
                        call.set("notification_email", p.notificationEmail)
                    }
                },
                LuaField("offers") { _, call in call.push(offers) },
                LuaField("set_preference") { _, call in call.push(setPreference) },
            ]
        ) { _ in
            let a = s.store.agency
            return "Agency \(a.name) · \(a.services.count) service\(a.services.count == 1 ? "" : "s")\(a.preferences.available ? "" : " · unavailable")"
        }
    }
}

/// A Lua table built once from a value and handed out as fresh copies while
/// the value stays the same: copying a kept table costs a tenth of building
/// it again from Swift strings, and the caller may still change its copy.
final class KeptTable<Value: Equatable> {
    private var kept: (value: Value, table: LuaReference)?
    /// How many levels of nested tables each copy copies.
    private let depth: Int32

    init(depth: Int32) { self.depth = depth }

    /// Pushes a copy of the table for `value`; `build` pushes a new one when
    /// `value` is not the one the kept table was built from.
    func push(_ value: Value, _ call: LuaCall, in lua: LuaState, build: () -> Void) {
        if kept?.value != value {
            build()
            if let old = kept { lua.release(old.table) }
            kept = (value, call.reference(-1))
            call.pop()
        }
        if let kept { call.pushCopy(of: kept.table, depth: depth) }
    }
}
