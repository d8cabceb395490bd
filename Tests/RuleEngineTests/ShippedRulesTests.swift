import LuaHost
import Marketplace
import RuleEngine
import Testing

/// The rules in rules/ on small fixtures, edge by edge.
@Suite struct ShippedRulesTests {
    static let decline = "rules/01-decline-mismatched.lua"
    static let assign = "rules/02-assign-by-service.lua"
    static let escalate = "rules/03-escalate-near-expiry.lua"
    static let chase = "rules/04-chase-late-orders.lua"

    func run(_ fixture: Fixture, _ files: [String], now: UnixTime = Lab.now) throws -> Lab {
        let lab = try Lab(fixture.store(now: Lab.now), now: now)
        let outcome = try lab.runRules(files: files)
        #expect(outcome.failures.isEmpty, "\(outcome.failures.map(\.error.report))")
        return lab
    }

    func status(_ lab: Lab, _ id: String) -> JobStatus? { lab.store.job(id).map { lab.store.jobs[$0].status } }
    func reason(_ lab: Lab, _ id: String) -> String? { lab.store.job(id).flatMap { lab.store.jobs[$0].declined?.reason } }
    func assignees(_ lab: Lab, _ id: String) -> [String] {
        lab.store.job(id).map { lab.store.jobs[$0].assignees.map { lab.store.members[$0].id } } ?? []
    }

    /// Running the same files again at the same time changes nothing.
    func expectIdempotent(_ lab: Lab, _ files: [String]) throws {
        let again = try Lab(lab.store, now: lab.session.now)
        let before = again.store.changes.count
        _ = try again.runRules(files: files)
        #expect(again.store.changes.count == before, "a second run changed: \(again.store.changes.suffix(again.store.changes.count - before))")
    }

    // MARK: 1. Decline mismatched

    @Test func declinesWhatTheAgencyDoesNotOffer() throws {
        var f = Fixture()
        f.jobs = [.init(id: "J-1", service: "photography"), .init(id: "J-2", service: "seo"),
                  .init(id: "J-3", service: "photography", status: .responded, answered: true)]
        let lab = try run(f, [Self.decline])
        #expect(status(lab, "J-1") == .declined)
        #expect(reason(lab, "J-1") == "the agency does not offer the service \"photography\"")
        #expect(status(lab, "J-2") == .new)
        #expect(status(lab, "J-3") == .responded, "only new and opened jobs are declined")
        #expect(lab.store.stats.declinesByService == ["photography": 1])
        #expect(lab.store.changes.allSatisfy { $0.actor == "rule:decline-mismatched" })
        try expectIdempotent(lab, [Self.decline])
    }

    @Test func dropshippersFollowThePreference() throws {
        var f = Fixture()
        f.jobs = [.init(id: "J-1", merchant: 1), .init(id: "J-2", merchant: 1, status: .opened), .init(id: "J-3", merchant: 0)]
        let off = try run(f, [Self.decline])
        #expect(status(off, "J-1") == .declined)
        #expect(status(off, "J-2") == .declined)
        #expect(status(off, "J-3") == .new)
        #expect(reason(off, "J-1") == "the merchant Drop Co is a dropshipper and the agency does not work with dropshippers")
        f.worksWithDropshippers = true
        let on = try run(f, [Self.decline])
        #expect(on.store.changes.isEmpty)
    }

    @Test func budgetUnderTheServiceMinimum() throws {
        var f = Fixture()
        f.jobs = [
            .init(id: "J-1", service: "theme", budgetMax: 499),
            .init(id: "J-2", service: "theme", budgetMax: 500),  // exactly the minimum: fits
            .init(id: "J-3", service: "theme", budgetMax: nil),  // no budget: nothing to compare
            .init(id: "J-4", service: "theme", budgetMax: 100, currency: "EUR"),  // another currency: not compared
            .init(id: "J-5", service: "seo", merchant: 1, budgetMax: 200),  // two reasons
        ]
        let lab = try run(f, [Self.decline])
        #expect(status(lab, "J-1") == .declined)
        #expect(reason(lab, "J-1") == "the budget (at most 499 USD) is under the minimum of 500 USD for Theme work")
        #expect(status(lab, "J-2") == .new)
        #expect(status(lab, "J-3") == .new)
        #expect(status(lab, "J-4") == .new)
        #expect(reason(lab, "J-5") == "the budget (at most 200 USD) is under the minimum of 300 USD for SEO; "
            + "the merchant Drop Co is a dropshipper and the agency does not work with dropshippers")
        #expect(lab.store.stats.declinesByService == ["theme": 1, "seo": 1])
        try expectIdempotent(lab, [Self.decline])
    }

    // MARK: 2. Assign by service

    @Test func fewestOpenJobsThenSmallestIDByBytes() throws {
        var f = Fixture()
        // m3 already has one open job; m2, m10 none. "m10" < "m2" byte by byte.
        f.jobs = [
            .init(id: "J-0", status: .responded, assignees: [2], answered: true),
            .init(id: "J-1"), .init(id: "J-2"), .init(id: "J-3"), .init(id: "J-4"),
        ]
        let lab = try run(f, [Self.assign])
        #expect(assignees(lab, "J-1") == ["m10"])
        #expect(assignees(lab, "J-2") == ["m2"])
        #expect(assignees(lab, "J-3") == ["m10"], "m10, m2, m3 all have one now: m10 first")
        #expect(assignees(lab, "J-4") == ["m2"])
        #expect(assignees(lab, "J-0") == ["m3"], "assigned jobs stay as they are")
        // Each assignment emailed the member.
        #expect(lab.store.outbox.map(\.to) == ["dana@x.example", "ben@x.example", "dana@x.example", "ben@x.example"])
        try expectIdempotent(lab, [Self.assign])
    }

    @Test func inactiveMembersAndClosedJobsAreLeftOut() throws {
        var f = Fixture()
        f.jobs = [
            .init(id: "J-1", service: "theme"),
            .init(id: "J-2", service: "photography"),  // nobody offers it: stays unassigned
            .init(id: "J-3", status: .declined), .init(id: "J-4", status: .completed, answered: true),
            .init(id: "J-5", status: .expired),
        ]
        let lab = try run(f, [Self.assign])
        #expect(assignees(lab, "J-1") == ["m1"], "m1 and m2 offer theme, both with 0 open jobs")
        #expect(assignees(lab, "J-2") == [])
        #expect(assignees(lab, "J-3") == [])
        #expect(assignees(lab, "J-4") == [])
        #expect(assignees(lab, "J-5") == [])
        #expect(!lab.store.outbox.contains { $0.to == "eve@x.example" })
    }

    @Test func declinedByTheFirstRuleAreNotAssigned() throws {
        var f = Fixture()
        f.jobs = [.init(id: "J-1", merchant: 1), .init(id: "J-2")]
        let lab = try run(f, [Self.decline, Self.assign])
        #expect(assignees(lab, "J-1") == [])
        #expect(assignees(lab, "J-2") == ["m10"])
    }

    // MARK: 3. Escalate near expiry

    @Test func underTwelveHoursLeftIsEscalatedOnce() throws {
        var f = Fixture()
        f.jobs = [
            .init(id: "J-1", age: 60, assignees: [1]),  // exactly 12 hours left: not yet
            .init(id: "J-2", age: 60.01, assignees: [1]),  // 11.99 hours left
            .init(id: "J-3", status: .opened, age: 70),  // 2 hours left, nobody assigned
            .init(id: "J-4", status: .responded, age: 70, answered: true),  // answered: can't expire
            .init(id: "J-5", age: 71, tags: ["escalated"]),  // done before
        ]
        let lab = try run(f, [Self.escalate])
        let tagged = lab.store.jobs.filter { $0.tags.contains("escalated") }.map(\.id)
        #expect(tagged == ["J-2", "J-3", "J-5"])
        let j2 = lab.store.jobs[try #require(lab.store.job("J-2"))]
        #expect(j2.notes.count == 1)
        #expect(j2.notes.first?.text.string.hasPrefix("Escalated: no response yet and 12.0 hours left") == true)
        // Assignees and the lead, each once.
        #expect(lab.store.outbox.map(\.to) == ["ben@x.example", "ana@x.example", "ana@x.example"])
        #expect(lab.store.outbox.first?.subject == "Expiring in 12.0 hours: J-2 Job J-2")
        #expect(lab.store.outbox.allSatisfy { $0.job != nil })
        try expectIdempotent(lab, [Self.escalate])
        // Later the same day: nothing new either.
        let later = try Lab(lab.store, now: Lab.now + 3600)
        _ = try later.runRules(files: [Self.escalate])
        #expect(later.store.changes.count == lab.store.changes.count)
    }

    @Test func withoutAssigneesOrLeadTheAgencyAddressHears() throws {
        var f = Fixture()
        f.lead = false
        f.jobs = [.init(id: "J-1", age: 65)]
        let lab = try run(f, [Self.escalate])
        #expect(lab.store.outbox.map(\.to) == ["jobs@x.example"])
    }

    // MARK: 4. Chase late orders

    @Test func dueWithinADayIsNotifiedOncePerDueDate() throws {
        var f = Fixture()
        let h: UnixTime = 3600
        let now = Lab.now
        f.orders = [
            Order(id: "O-1", buyer: "A", service: "seo", status: .inProgress, placedAt: now - 100 * h, dueAt: now + 24 * h),
            Order(id: "O-2", buyer: "B", service: "seo", status: .notStarted, placedAt: now - 100 * h, dueAt: now + 25 * h),
            Order(id: "O-3", buyer: "C", service: "seo", status: .delivered, placedAt: now - 100 * h, dueAt: now + 2 * h,
                  deliveredAt: now - h),
            Order(id: "O-4", buyer: "D", service: "seo", status: .inProgress, placedAt: now - 100 * h, dueAt: now + 1),
        ]
        let lab = try run(f, [Self.chase])
        #expect(lab.store.outbox.map(\.subject) == [
            "Due soon: order O-1 for A (due 2026-11-28T09:00:00Z)", "Due soon: order O-4 for D (due 2026-11-27T09:00:01Z)",
        ])
        #expect(lab.store.outbox.allSatisfy { $0.to == "ana@x.example" })
        try expectIdempotent(lab, [Self.chase])
        // An hour later O-2 is due within a day; O-1 and O-4 are not told twice.
        let later = try Lab(lab.store, now: now + h)
        _ = try later.runRules(files: [Self.chase])
        #expect(later.store.outbox.count == 3)
        #expect(later.store.outbox.last?.subject.hasPrefix("Due soon: order O-2") == true)
    }

    @Test func lateOrdersGetOneExtensionRequest() throws {
        var f = Fixture()
        let h: UnixTime = 3600
        let now = Lab.now
        f.orders = [
            Order(id: "O-1", buyer: "A", service: "seo", status: .inProgress, placedAt: now - 100 * h, dueAt: now - h),
            Order(id: "O-2", buyer: "B", service: "seo", status: .inProgress, placedAt: now - 100 * h, dueAt: now - h,
                  extensionRequests: [ExtensionRequest(days: 2, reason: "x", at: now - 2 * h)]),  // pending
            Order(id: "O-3", buyer: "C", service: "seo", status: .notStarted, placedAt: now - 100 * h, dueAt: now - 5 * h,
                  extensionRequests: [ExtensionRequest(days: 2, reason: "x", at: now - 4 * h, status: .declined, answeredAt: now - 3 * h)]),
            Order(id: "O-4", buyer: "D", service: "seo", status: .inProgress, placedAt: now - 100 * h, dueAt: now - h,
                  extensionRequests: [ExtensionRequest(days: 1, reason: "x", at: now - 50 * h, status: .accepted, answeredAt: now - 49 * h)]),
            Order(id: "O-5", buyer: "E", service: "seo", status: .delivered, placedAt: now - 100 * h, dueAt: now - h, deliveredAt: now - 2 * h),
        ]
        let lab = try run(f, [Self.chase])
        let requested = lab.store.orders.filter { o in o.extensionRequests.contains { $0.at == now } }.map(\.id)
        #expect(requested == ["O-1", "O-4"], "O-2 has one pending; O-3 was answered since it fell due; O-5 is delivered")
        let request = try #require(lab.store.orders[0].pendingExtension)
        #expect(request.days == 3)
        #expect(request.reason == "Delivery is late (it was due 2026-11-27T08:00:00Z): we need 3 more days to deliver it well.")
        try expectIdempotent(lab, [Self.chase])
    }

    // MARK: All four

    @Test func theWholeSetOnTheSampleIsStableOnARerun() throws {
        let files = [Self.decline, Self.assign, Self.escalate, Self.chase]
        let lab = try Lab.sample()
        lab.store.actor = "expiry"
        lab.store.expireDueJobs(at: Lab.now)
        let outcome = try lab.runRules(files: files)
        #expect(outcome.failures.isEmpty)
        #expect(outcome.rules.map(\.name) == [
            "decline-mismatched", "assign-by-service", "escalate-near-expiry", "notify-due-soon", "request-extension-late",
        ])
        #expect(outcome.rules.allSatisfy { $0.changed > 0 })
        try expectIdempotent(lab, files)
    }
}
