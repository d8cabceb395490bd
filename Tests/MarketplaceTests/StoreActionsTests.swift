import Marketplace
import Testing

/// The aggregate's actions on the sample store: transitions, emails, stats, rollback.
@Suite struct StoreActionsTests {
    let now: UnixTime = 1_795_770_000  // 2026-11-27T09:00:00Z
    let store: Store

    init() {
        store = Store.sample(now: now)
    }

    func job(_ id: String) throws -> Int { try #require(store.job(id)) }
    func member(_ id: String) throws -> Int { try #require(store.member(id)) }

    @Test func assigningEmailsTheMemberOnce() throws {
        let j = try job("J-1001")
        let before = store.outbox.count
        try store.assign(job: j, member: try member("m2"), at: now)
        #expect(store.outbox.count == before + 1)
        let mail = try #require(store.outbox.last)
        #expect(mail.to == "ben@northwind.example")
        #expect(mail.subject == "Assigned to you: J-1001 Refresh product pages for the winter collection")
        #expect(mail.job == j)
        #expect(mail.at == now)
        #expect(store.jobs[j].assignees == [try member("m2")])
        // Assigning again changes nothing and sends nothing.
        try store.assign(job: j, member: try member("m2"), at: now)
        #expect(store.outbox.count == before + 1)
    }

    @Test func everyLaterMessageNotifiesEachAssigneeButItsAuthor() throws {
        let j = try job("J-1013")  // responded, assigned to m2 and m4
        let before = store.outbox.count
        try store.receiveMerchantMessage(job: j, body: "Any news?", at: now)
        #expect(store.jobs[j].status == .awaitingResponse)
        let toMerchantMessage = store.outbox[before...].map(\.to)
        #expect(toMerchantMessage == ["ben@northwind.example", "dana@northwind.example"])
        #expect(store.outbox.last?.body.string == "Maple Goods wrote on J-1013:\n\nAny news?")

        let count = store.outbox.count
        try store.reply(job: j, text: "Tomorrow.", member: try member("m2"), at: now + 60)
        #expect(store.jobs[j].status == .responded)
        #expect(store.outbox[count...].map(\.to) == ["dana@northwind.example"])
        let reply = try #require(store.messages.last)
        #expect(reply.from == .member("m2"))
        #expect(reply.job == j)
        #expect(reply.body.string == "Tomorrow.")
    }

    @Test func replyWithoutMemberWritesAsFirstAssigneeOrLead() throws {
        let assigned = try job("J-1008")  // opened, assigned to m2
        try store.reply(job: assigned, text: "Hello", at: now)
        #expect(store.messages.last?.from == .member("m2"))
        #expect(store.jobs[assigned].firstResponseAt == now)
        let unassigned = try job("J-1010")
        try store.reply(job: unassigned, text: "Hello", at: now)
        #expect(store.messages.last?.from == .member("m1"))  // the lead
    }

    @Test func declineRecordsWhoWhenWhyAndCountsPerService() throws {
        let j = try job("J-1009")  // seo
        let before = store.stats.declinesByService["seo"] ?? 0
        try store.decline(job: j, reason: "Out of scope", at: now)
        #expect(store.jobs[j].status == .declined)
        #expect(store.jobs[j].declined == Decline(by: .agency, at: now, reason: "Out of scope"))
        #expect(store.stats.declinesByService["seo"] == before + 1)
        #expect(store.changes.map(\.field) == ["status", "declined", "declines_by_service.seo"])
    }

    @Test func expiryFollowsTheRunsClockAndCountsPerService() throws {
        // J-1002 (seo) was created 62 hours before `now`: due 10 hours later.
        let j = try job("J-1002")
        #expect(store.expireDueJobs(at: now + 10 * 3600 - 1).contains(j) == false)
        let before = store.stats.expiredByService["seo"] ?? 0
        let expired = store.expireDueJobs(at: now + 10 * 3600)
        #expect(expired.contains(j))
        #expect(store.jobs[j].status == .expired)
        #expect(store.stats.expiredByService["seo"] == before + 1)
        #expect(store.changes.contains(Change(actor: "jobrules", kind: "job", object: "J-1002", field: "status", old: .string("new"), new: .string("expired"))))
    }

    @Test func expiredJobsRefuseEverything() throws {
        let j = try job("J-1017")
        let message = "job J-1017 is expired: expired jobs can't be acted upon"
        #expect(throws: TransitionError.self) { try store.open(job: j, at: now) }
        do {
            try store.assign(job: j, member: try member("m1"), at: now)
            Issue.record("assign succeeded")
        } catch {
            #expect("\(error)" == message)
        }
        do {
            try store.tag(job: j, "late")
            Issue.record("tag succeeded")
        } catch {
            #expect("\(error)" == message)
        }
        #expect(throws: TransitionError.self) { try store.note(job: j, text: "x", at: now) }
        #expect(throws: TransitionError.self) { try store.receiveMerchantMessage(job: j, body: "hello?", at: now) }
        #expect(store.changes.isEmpty)
        #expect(store.jobs[j].status == .expired)
    }

    @Test func reactivateFollowsTheLastMessagesAuthor() throws {
        let j = try job("J-1021")  // inactive, the agency wrote last
        try store.reactivate(job: j)
        #expect(store.jobs[j].status == .responded)
        let k = try job("J-1022")
        try store.receiveMerchantMessage(job: k, body: "Back from holidays", at: now)
        #expect(store.jobs[k].status == .inactive)
        try store.reactivate(job: k)
        #expect(store.jobs[k].status == .awaitingResponse)
    }

    @Test func inactiveMembersCantBeAssigned() throws {
        let j = try job("J-1001")
        let error = #expect(throws: DomainError.self) { try store.assign(job: j, member: try member("m6"), at: now) }
        #expect(error?.description == "member m6 (Farah Novak) is inactive: jobs can't be assigned to them")
        #expect(store.jobs[j].assignees.isEmpty)
        #expect(store.changes.isEmpty)
    }

    @Test func openJobsCountFollowsAssignmentsAndStatus() throws {
        let ben = try member("m2")
        let before = store.openJobs(ofMember: ben)
        let expected = store.jobs.filter { $0.isOpen && $0.assignees.contains(ben) }.count
        #expect(before == expected)
        try store.assign(job: try job("J-1001"), member: ben, at: now)
        #expect(store.openJobs(ofMember: ben) == before + 1)
        try store.decline(job: try job("J-1001"), reason: "no", at: now)
        #expect(store.openJobs(ofMember: ben) == before)
    }

    @Test func rollbackUndoesJobsEmailsStatsAndChanges() throws {
        let j = try job("J-1001")
        let snapshot = store.encoded()
        let savepoint = store.savepoint()
        try store.assign(job: j, member: try member("m1"), at: now)
        try store.tag(job: j, "vip")
        try store.note(job: j, text: "checked", at: now)
        try store.reply(job: j, text: "Hi", at: now)
        try store.decline(job: j, reason: "no", at: now)
        try store.setPreference("available", .flag(false))
        try store.postUpdate(order: try #require(store.order("O-2")), text: "Half way", at: now)
        #expect(!store.changes.isEmpty)
        store.rollback(to: savepoint)
        #expect(store.changes.isEmpty)
        #expect(store.encoded() == snapshot)
        #expect(store.openJobs(ofMember: try member("m1")) == store.jobs.filter { $0.isOpen && $0.assignees.contains(0) }.count)
    }

    @Test func tagsAreIdempotentAndChecked() throws {
        let j = try job("J-1001")
        try store.tag(job: j, "escalated")
        try store.tag(job: j, "escalated")
        #expect(store.jobs[j].tags == ["escalated"])
        #expect(throws: DomainError.self) { try store.tag(job: j, "two words") }
        try store.untag(job: j, "escalated")
        #expect(store.jobs[j].tags.isEmpty)
    }

    @Test func preferencesAreTypedAndNamed() throws {
        try store.setPreference("works_with_dropshippers", .flag(true))
        #expect(store.agency.preferences.worksWithDropshippers)
        #expect(throws: DomainError.invalid("preference 'available' is true or false")) {
            try store.setPreference("available", .email("x@y"))
        }
        #expect(throws: DomainError.invalid("unknown preference 'vacation' (known: available, listed_in_search, works_with_dropshippers, notification_email)")) {
            try store.setPreference("vacation", .flag(true))
        }
    }

    // MARK: Orders

    @Test func orderViewsAndLateness() throws {
        let views = Dictionary(uniqueKeysWithValues: store.orders.map { ($0.id, $0.views) })
        #expect(views["O-1"] == ["active", "pending"])
        #expect(views["O-4"] == ["delivered"])
        #expect(views["O-5"] == ["completed"])
        #expect(views["O-6"] == ["canceled"])
        #expect(store.orders.filter { $0.isLate(at: now) }.map(\.id) == ["O-3"])
        #expect(store.orders[try #require(store.order("O-2"))].hoursToDue(at: now) == 20)
    }

    @Test func orderTransitions() throws {
        let o = try #require(store.order("O-1"))
        #expect(throws: OrderError.self) { try store.deliver(order: o, at: now) }
        do {
            try store.deliver(order: o, at: now)
        } catch {
            #expect(error.description == "order O-1 can't be delivered: it is not_started (deliver is allowed from in_progress)")
        }
        try store.start(order: o)
        try store.deliver(order: o, at: now)
        #expect(store.orders[o].status == .delivered)
        #expect(store.orders[o].deliveredAt == now)
        try store.complete(order: o, at: now + 1)
        #expect(store.orders[o].status == .completed)
        #expect(throws: OrderError.self) { try store.cancel(order: o, by: .support, at: now) }
    }

    @Test func extensionRequestsOneAtATimeAndAcceptanceMovesDue() throws {
        let o = try #require(store.order("O-3"))
        let due = store.orders[o].dueAt
        try store.requestExtension(order: o, days: 3, reason: "Waiting for content", at: now)
        do {
            try store.requestExtension(order: o, days: 2, reason: "again", at: now)
            Issue.record("a second pending request was accepted")
        } catch {
            #expect(error.description.hasPrefix("order O-3 already has an extension request pending (3 days"))
        }
        try store.answerExtension(order: o, accepted: true, at: now + 3600)
        #expect(store.orders[o].dueAt == due + 3 * 86400)
        #expect(store.orders[o].extensionRequests.last?.status == .accepted)
        #expect(throws: OrderError.invalid("order O-3 has no extension request pending")) {
            try store.answerExtension(order: o, accepted: false, at: now)
        }
        #expect(throws: OrderError.self) { try store.requestExtension(order: o, days: 0, reason: "", at: now) }
    }

    @Test func searchLooksAtMerchantTitleDetailsAndNotes() throws {
        #expect(store.search("COFFEE").map { store.jobs[$0].id }.contains("J-1021"))
        #expect(store.search("paused the project").map { store.jobs[$0].id } == ["J-1021"])
        #expect(store.search("Juniper").count == store.jobs.filter { $0.merchant == 5 }.count)
    }
}
