import Marketplace

/// Small stores for the rules' edge cases. Services: `seo` (min 300 USD) and
/// `theme` (min 500 USD). Members: m1 (lead, theme), m2 (seo, theme), m3 (seo),
/// m10 (seo), m9 (seo, inactive). Merchants: mer1, and mer2 a dropshipper.
struct Fixture {
    struct JobRow {
        var id: String
        var service = "seo"
        var merchant = 0
        var status = JobStatus.new
        /// Hours since creation at `Lab.now`.
        var age: Double = 1
        var budgetMax: Double? = 1000
        var currency = "USD"
        var assignees: [Int] = []
        var tags: [String] = []
        var answered = false
    }

    var worksWithDropshippers = false
    var lead = true
    var jobs: [JobRow] = []
    var orders: [Order] = []

    var members: [Member] {
        [
            Member(id: "m1", name: "Ana", email: "ana@x.example", role: lead ? "lead" : "member", services: ["theme"]),
            Member(id: "m2", name: "Ben", email: "ben@x.example", services: ["seo", "theme"]),
            Member(id: "m3", name: "Chen", email: "chen@x.example", services: ["seo"]),
            Member(id: "m10", name: "Dana", email: "dana@x.example", services: ["seo"]),
            Member(id: "m9", name: "Eve", email: "eve@x.example", services: ["seo"], active: false),
        ]
    }

    func store(now: UnixTime = Lab.now) -> Store {
        let agency = Agency(
            name: "Fixture Studio",
            services: [
                Service(id: "seo", name: "SEO", minBudget: 300, currency: "USD"),
                Service(id: "theme", name: "Theme work", minBudget: 500, currency: "USD"),
            ],
            preferences: Preferences(
                available: true, listedInSearch: true, worksWithDropshippers: worksWithDropshippers,
                notificationEmail: "jobs@x.example"))
        let merchants = [
            Merchant(id: "mer1", name: "Plain Shop", dropshipper: false),
            Merchant(id: "mer2", name: "Drop Co", dropshipper: true),
        ]
        var messages: [Message] = []
        let built = jobs.enumerated().map { (n, row) -> Job in
            let created = now - UnixTime((row.age * 3600).rounded())
            let opened: UnixTime? = row.status == .new ? nil : created + 60
            let answered: UnixTime? = row.answered ? created + 120 : nil
            if row.answered {
                messages.append(Message(id: "msg\(messages.count + 1)", job: n, from: .member("m2"), at: created + 120, body: "Hi"))
            }
            return Job(
                lifecycle: JobLifecycle(id: row.id, status: row.status, createdAt: created, openedAt: opened, firstResponseAt: answered),
                source: .match, merchant: row.merchant, service: row.service, title: Text("Job \(row.id)"),
                budget: row.budgetMax.map { Budget(min: nil, max: $0, currency: row.currency) }, assignees: row.assignees,
                tags: row.tags)
        }
        return Store(agency: agency, members: members, merchants: merchants, jobs: built, messages: messages, orders: orders)
    }
}
