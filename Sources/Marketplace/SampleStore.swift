extension Store {
    /// A small, realistic store for `jobrules init`, its times relative to `now`:
    /// thirty jobs over every status and both sources (some about to expire, some
    /// past it), six members with overlapping services, two dropshippers, orders in
    /// every status with one late, prospective contacts.
    public static func sample(now: UnixTime) -> Store {
        let h: UnixTime = 3600
        let d: UnixTime = 86400
        let services = [
            Service(id: "theme-customization", name: "Theme customization", minBudget: 500, currency: "USD"),
            Service(id: "store-setup", name: "Store setup", minBudget: 1000, currency: "USD"),
            Service(id: "seo", name: "Search engine optimization", minBudget: 300, currency: "USD"),
            Service(id: "migration", name: "Store migration", minBudget: 1500, currency: "USD"),
        ]
        let agency = Agency(
            name: "Northwind Studio", services: services,
            preferences: Preferences(
                available: true, listedInSearch: true, worksWithDropshippers: false, notificationEmail: "jobs@northwind.example"))
        let members = [
            Member(id: "m1", name: "Ana Ruiz", email: "ana@northwind.example", role: "lead", services: ["theme-customization", "store-setup"]),
            Member(id: "m2", name: "Ben Okafor", email: "ben@northwind.example", services: ["theme-customization", "seo"]),
            Member(id: "m3", name: "Chen Lindqvist", email: "chen@northwind.example", services: ["migration", "store-setup"]),
            Member(id: "m4", name: "Dana Moreau", email: "dana@northwind.example", services: ["seo"]),
            Member(id: "m5", name: "Emeka Tanaka", email: "emeka@northwind.example", services: ["migration", "theme-customization"]),
            Member(id: "m6", name: "Farah Novak", email: "farah@northwind.example", services: ["store-setup", "seo"], active: false),
        ]
        let merchants = [
            Merchant(id: "mer1", name: "Maple Goods", store: "maple-goods.myshopify.com", email: "owner@maple.example", industry: "home", country: "CA"),
            Merchant(id: "mer2", name: "Copper Kettle Coffee", store: "copper-kettle.myshopify.com", email: "hello@copperkettle.example", industry: "food", country: "US"),
            Merchant(id: "mer3", name: "Trendy Drop Deals", store: "trendy-drop.myshopify.com", email: "sales@trendydrop.example", dropshipper: true, industry: "fashion", country: "US"),
            Merchant(id: "mer4", name: "Harbor Outfitters", store: "harbor-outfitters.myshopify.com", email: "team@harbor.example", industry: "sports", country: "GB"),
            Merchant(id: "mer5", name: "Gadget Flash", store: "gadget-flash.myshopify.com", email: "ops@gadgetflash.example", dropshipper: true, industry: "electronics", country: "AU"),
            Merchant(id: "mer6", name: "Juniper & Sage", store: "juniper-sage.myshopify.com", email: "studio@junipersage.example", industry: "beauty", country: "NL"),
            Merchant(id: "mer7", name: "Meadow Toys", store: "meadow-toys.myshopify.com", email: "hi@meadowtoys.example", industry: "toys", country: "DE"),
        ]
        // (id, source, merchant, service, title, budget max, status, hours since creation, assignees, tags)
        typealias Row = (String, JobSource, Int, String, String, Double, JobStatus, UnixTime, [Int], [String])
        let rows: [Row] = [
            ("J-1001", .match, 0, "theme-customization", "Refresh product pages for the winter collection", 2000, .new, 2, [], []),
            ("J-1002", .direct, 1, "seo", "Improve rankings for our coffee subscriptions", 1200, .new, 62, [], ["rush"]),
            ("J-1003", .match, 2, "store-setup", "Set up a new store for trending gadgets", 3000, .new, 5, [], []),
            ("J-1004", .match, 3, "photography", "Product photos for 40 jackets", 900, .new, 20, [], []),
            ("J-1005", .direct, 5, "migration", "Move our store from another platform", 1000, .new, 30, [], []),
            ("J-1006", .match, 6, "theme-customization", "Custom toy finder on the home page", 2500, .new, 73, [], []),
            ("J-1007", .direct, 0, "store-setup", "Second store for wholesale buyers", 4000, .new, 66, [], ["vip"]),
            ("J-1008", .match, 1, "theme-customization", "Faster mobile checkout page", 1500, .opened, 50, [1], []),
            ("J-1009", .match, 3, "seo", "Fix duplicate titles and meta descriptions", 800, .opened, 61, [3], []),
            ("J-1010", .direct, 4, "seo", "SEO for electronics category pages", 2000, .opened, 12, [], []),
            ("J-1011", .match, 6, "migration", "Migrate 3,000 products with variants", 6000, .opened, 80, [2], []),
            ("J-1012", .direct, 5, "theme-customization", "Brand refresh of the whole theme", 5000, .responded, 100, [0], ["large"]),
            ("J-1013", .match, 0, "seo", "Monthly SEO retainer", 900, .responded, 200, [1, 3], ["repeat"]),
            ("J-1014", .match, 3, "store-setup", "Launch a store for the new outdoor line", 3500, .awaitingResponse, 150, [2], []),
            ("J-1015", .direct, 1, "migration", "Migrate blog and customer accounts", 2500, .awaitingResponse, 90, [4], []),
            ("J-1016", .match, 6, "theme-customization", "Holiday banner and gift guide", 700, .awaitingResponse, 40, [], ["rush"]),
            ("J-1017", .match, 0, "theme-customization", "Quick fixes to the footer", 400, .expired, 120, [], []),
            ("J-1018", .direct, 3, "seo", "Local SEO for our London shop", 600, .expired, 300, [], []),
            ("J-1019", .match, 2, "store-setup", "Copy a competitor's store", 800, .declined, 100, [], []),
            ("J-1020", .direct, 5, "seo", "Keyword research for skincare", 500, .declined, 260, [3], []),
            ("J-1021", .match, 1, "theme-customization", "Coffee subscription landing page", 1800, .inactive, 400, [1], []),
            ("J-1022", .direct, 6, "migration", "Migrate reviews from the old store", 1600, .inactive, 500, [4], []),
            ("J-1023", .match, 0, "store-setup", "Set up shipping zones and taxes", 1200, .completed, 900, [0], ["repeat"]),
            ("J-1024", .direct, 3, "theme-customization", "Size guide pop-up", 600, .completed, 700, [4], []),
            ("J-1025", .match, 5, "migration", "Migrate a second store", 3000, .completed, 1200, [2], []),
            ("J-1026", .direct, 1, "seo", "Structured data for products", 700, .responded, 30, [3], []),
            ("J-1027", .match, 4, "theme-customization", "Countdown timers on every product", 300, .opened, 10, [], []),
            ("J-1028", .direct, 6, "store-setup", "Set up a store for a toy subscription box", 2200, .new, 1, [], []),
            ("J-1029", .match, 3, "migration", "Move the blog only", 1400, .new, 70, [], []),
            ("J-1030", .direct, 0, "seo", "Speed up collection pages", 800, .awaitingResponse, 26, [0, 1], []),
        ]
        var jobs: [Job] = []
        var messages: [Message] = []
        var stats = Stats()
        for (n, row) in rows.enumerated() {
            let (id, source, merchant, service, title, max, status, age, assignees, tags) = row
            let created = now - age * h
            let answered = [.responded, .awaitingResponse, .inactive, .completed].contains(status) || id == "J-1020"
            let opened: UnixTime? = status == .new ? nil : created + 40 * 60
            let firstResponse: UnixTime? = answered ? created + 3 * h : nil
            var declined: Decline?
            if status == .declined {
                declined = id == "J-1019"
                    ? Decline(by: .agency, at: created + 5 * h, reason: "We don't copy other merchants' stores.")
                    : Decline(by: .merchant, at: created + 30 * h, reason: "We went with another agency.")
                stats.declinesByService[service, default: 0] += 1
            }
            if status == .expired { stats.expiredByService[service, default: 0] += 1 }
            let lifecycle = JobLifecycle(
                id: id, status: status, createdAt: created, openedAt: opened, firstResponseAt: firstResponse, declined: declined,
                completedAt: status == .completed ? created + 20 * d : nil)
            let details = Text(
                "\(title). We are \(merchants[merchant].name), a \(merchants[merchant].industry ?? "retail") business in "
                    + "\(merchants[merchant].country ?? "the US"). Budget up to \(Int(max)) USD; we would like to start within two weeks.")
            var notes: [Note] = []
            if id == "J-1012" { notes.append(Note(author: "m1", at: created + 4 * h, text: "Big one: Ana leads, Ben helps with the product templates.")) }
            if id == "J-1021" { notes.append(Note(author: "m2", at: created + 200 * h, text: "Merchant paused the project until January.")) }
            jobs.append(Job(
                lifecycle: lifecycle, source: source, merchant: merchant, service: service, title: Text(title), details: details,
                budget: Budget(min: (max / 4).rounded(), max: max, currency: "USD"),
                priorities: Priorities(time: [.high, .medium, .low][n % 3], cost: [.medium, .high, .low][n % 3], quality: .high),
                assignees: assignees, tags: tags, notes: notes))
            // The conversation so far, ending with whoever the status says spoke last.
            let member = MessageAuthor.member(members[assignees.first ?? 0].id)
            var authors: [MessageAuthor] = []
            switch status {
            case .new, .opened, .expired: authors = source == .direct ? [.merchant] : []
            case .responded, .completed: authors = [.merchant, member]
            case .awaitingResponse: authors = [.merchant, member, .merchant]
            case .inactive: authors = [.merchant, member, .merchant, member]
            case .declined: authors = [.merchant]
            }
            for (k, author) in authors.enumerated() {
                let body: String = author == .merchant
                    ? (k == 0 ? "Hi! \(title) — is this something you can help with?" : "Thanks, that sounds good. What would the next steps be?")
                    : "Happy to help. Could you share your store's admin access and your timeline?"
                messages.append(Message(
                    id: "msg\(messages.count + 1)", job: n, from: author, at: created + UnixTime(k + 1) * 2 * h, body: Text(body)))
            }
        }
        let orders = [
            Order(id: "O-1", buyer: "Maple Goods", service: "store-setup", status: .notStarted, placedAt: now - 1 * d, dueAt: now + 13 * d),
            Order(id: "O-2", buyer: "Harbor Outfitters", service: "theme-customization", status: .inProgress, placedAt: now - 10 * d,
                  dueAt: now + 20 * h, updates: [OrderUpdate(at: now - 3 * d, text: "Templates done; starting on the product pages.")]),
            Order(id: "O-3", buyer: "Copper Kettle Coffee", service: "seo", status: .inProgress, placedAt: now - 20 * d, dueAt: now - 2 * d),
            Order(id: "O-4", buyer: "Juniper & Sage", service: "migration", status: .delivered, placedAt: now - 30 * d, dueAt: now - 5 * d,
                  deliveredAt: now - 6 * d),
            Order(id: "O-5", buyer: "Meadow Toys", service: "theme-customization", status: .completed, placedAt: now - 60 * d,
                  dueAt: now - 40 * d, deliveredAt: now - 42 * d, completedAt: now - 39 * d),
            Order(id: "O-6", buyer: "Maple Goods", service: "seo", status: .canceled, placedAt: now - 15 * d, dueAt: now - 1 * d,
                  canceled: Cancellation(by: .mutual, at: now - 9 * d)),
            Order(id: "O-7", buyer: "Harbor Outfitters", service: "migration", status: .inProgress, placedAt: now - 12 * d,
                  dueAt: now + 6 * d, extensionRequests: [ExtensionRequest(days: 5, reason: "Waiting for the product export.", at: now - 2 * d)]),
        ]
        let contacts = [
            Contact(id: "c1", name: "Lior Haddad", email: "lior@candlecraft.example", at: now - 30 * h,
                    message: "I'm planning to open an online candle shop next spring. Could you help me get started?"),
            Contact(id: "c2", name: "Uma Kowalski", email: "uma@studio-uma.example", at: now - 4 * d,
                    message: "Do you build stores for artists who sell prints?"),
        ]
        let outbox = [
            OutboxEntry(id: "e1", to: "ana@northwind.example", subject: "Assigned to you: J-1012 Brand refresh of the whole theme",
                        body: "Hi Ana Ruiz,\n\nYou were assigned job J-1012.", job: 11, at: now - 99 * h),
        ]
        return Store(
            agency: agency, members: members, merchants: merchants, jobs: jobs, messages: messages, contacts: contacts,
            orders: orders, outbox: outbox, stats: stats)
    }
}

extension Store {
    /// A feed of marketplace events for the sample store made at `now`: one
    /// of each type, in the hour before `now` (after every job and order they
    /// act on was created), so that `jobrules import` takes it right after
    /// `jobrules init` at any clock.
    public static func sampleEvents(now: UnixTime) -> String {
        let m: UnixTime = 60
        func event(_ id: String, _ type: String, minutesBefore: UnixTime, _ fields: [(String, ChangeValue)]) -> String {
            ChangeValue.object([("event", .string(id)), ("type", .string(type)), ("at", .time(now - minutesBefore * m))] + fields)
                .description
        }
        let lines = [
            event("mk-7001", "job.received", minutesBefore: 55, [
                ("job", .object([
                    ("id", .string("J-1031")), ("source", .string("direct")), ("service", .string("seo")),
                    ("title", .string("Rank for handmade candles")),
                    ("details", .string("We sell hand-poured candles and get no search traffic.")),
                    ("budget", .object([("min", .int(400)), ("max", .int(900)), ("currency", .string("USD"))])),
                    ("priorities", .object([("time", .string("medium")), ("cost", .string("medium")), ("quality", .string("high"))])),
                ])),
                ("merchant", .object([
                    ("id", .string("mer8")), ("name", .string("Wick & Ember")), ("store", .string("wick-ember.myshopify.com")),
                    ("email", .string("hello@wickember.example")), ("dropshipper", .bool(false)), ("industry", .string("home")),
                    ("country", .string("US")),
                ])),
            ]),
            event("mk-7002", "message.received", minutesBefore: 50, [
                ("job", .string("J-1013")), ("body", .string("Thanks! Can we start next Monday?")),
            ]),
            event("mk-7003", "job.declined_by_merchant", minutesBefore: 48, [
                ("job", .string("J-1026")), ("reason", .string("We hired someone in-house.")),
            ]),
            event("mk-7004", "contact.received", minutesBefore: 45, [
                ("contact", .object([
                    ("id", .string("c3")), ("name", .string("Noor Saleh")), ("email", .string("noor@example.com")),
                    ("message", .string("I want to open a store for my ceramics. Where do I start?")),
                ])),
            ]),
            event("mk-7005", "order.placed", minutesBefore: 40, [
                ("order", .object([
                    ("id", .string("O-8")), ("buyer", .string("Wick & Ember")), ("service", .string("seo")),
                    ("due_at", .time(now + 14 * 86400 - 40 * m)),
                ])),
            ]),
            event("mk-7006", "order.requirements_submitted", minutesBefore: 35, [("order", .string("O-1"))]),
            event("mk-7007", "order.completed", minutesBefore: 30, [("order", .string("O-4"))]),
            event("mk-7008", "order.canceled", minutesBefore: 25, [("order", .string("O-3")), ("by", .string("mutual"))]),
            event("mk-7009", "extension.answered", minutesBefore: 20, [("order", .string("O-7")), ("accepted", .bool(true))]),
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
