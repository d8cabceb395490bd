import Foundation
import Marketplace
import Testing

/// `run`, `exec` and `check` end to end: the built binary on fixture stores.
@Suite struct RunCommandTests {
    let jobrules: Binary
    let scratch: Scratch
    let now = "2026-11-21T09:30:00Z"
    let shippedRules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("rules").path

    init() throws {
        jobrules = try Binary("jobrules")
        scratch = try Scratch()
        let made = try jobrules.run(["init", "--now", now], in: scratch.url)
        try #require(made.status == 0)
    }

    var storePath: String { scratch.url.appendingPathComponent("store.json").path }
    var auditPath: String { storePath + ".audit.jsonl" }

    func store() throws -> Store { try JSONStoreFile(path: storePath).load().store }
    func bytes() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: storePath)) }
    func job(_ store: Store, _ id: String) throws -> Job { store.jobs[try #require(store.job(id))] }

    func run(_ arguments: [String]) throws -> Binary.Result {
        // The clock goes before `--`: what follows it is the script's own.
        var arguments = arguments
        arguments.insert(contentsOf: ["--now", now], at: arguments.firstIndex(of: "--") ?? arguments.endIndex)
        return try jobrules.run(arguments, in: scratch.url)
    }

    @Test func theShippedRulesRunOnTheSampleAndASecondRunChangesNothing() throws {
        let result = try run(["run", "--rules", shippedRules])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == "")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "store.json at 2026-11-21T09:30:00Z: revision 0 → 1, 46 changes saved")
        #expect(lines[1] == "expired: 2 jobs (J-1006, J-1011)")
        #expect(lines[3] == "rule                    on       matched  changed  errors      time")
        #expect(lines[4].hasPrefix("decline-mismatched      jobs          12        6       0"))
        #expect(lines[5].hasPrefix("assign-by-service       jobs           5        5       0"))
        #expect(lines[6].hasPrefix("escalate-near-expiry    jobs           3        3       0"))
        #expect(lines[7].hasPrefix("notify-due-soon         orders         3        1       0"))
        #expect(lines[8].hasPrefix("request-extension-late  orders         1        1       0"))
        #expect(!result.stdout.contains("\u{1B}"), "no colour when stdout is not a terminal")

        let store = try store()
        #expect(store.revision == 1)
        #expect(try job(store, "J-1004").status == .declined)
        #expect(try job(store, "J-1004").declined?.reason == "the agency does not offer the service \"photography\"")
        #expect(try job(store, "J-1001").assignees.map { store.members[$0].id } == ["m1"])
        #expect(try job(store, "J-1002").tags == ["rush", "escalated"])
        #expect(store.orders[try #require(store.order("O-3"))].pendingExtension?.days == 3)
        #expect(store.stats.declinesByService["photography"] == 1)
        // The audit log names the rule of every change.
        let audit = try String(contentsOfFile: auditPath, encoding: .utf8).split(separator: "\n")
        #expect(audit.count == 46)
        #expect(audit.contains { $0.contains("\"actor\":\"rule:assign-by-service\"") && $0.contains("\"object\":\"J-1001\"") })
        #expect(audit.contains { $0.contains("\"actor\":\"expiry\"") })

        let again = try run(["run", "--rules", shippedRules])
        #expect(again.status == 0)
        #expect(again.stdout.hasPrefix("store.json at 2026-11-21T09:30:00Z: nothing to change (revision 1)\n"))
        #expect(try self.store().revision == 1)
    }

    @Test func aDryRunPrintsThePlanAndWritesNothing() throws {
        let before = try bytes()
        let result = try run(["run", "--rules", shippedRules, "--dry-run"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("store.json at 2026-11-21T09:30:00Z (dry run: nothing written)\n"))
        #expect(result.stdout.contains("\nplan: 46 changes to 28 objects (shown as 45 net changes)\n"))
        #expect(result.stdout.contains("""
              ~ job J-1004  (rule:decline-mismatched)
                  status:   "new" → "declined"
                  declined: +
                      by      "agency"
                      at      "2026-11-21T09:30:00Z"
                      reason  "the agency does not offer the service \\"photography\\""

            """))
        #expect(result.stdout.contains("""
              ~ job J-1001  (rule:assign-by-service)
                  assignees: + "m1"
              + outbox e2  (rule:assign-by-service)
                  to       "ana@northwind.example"
                  subject  "Assigned to you: J-1001 Refresh product pages for the winter collection"
                  job      "J-1001"

            """))
        #expect(try bytes() == before)
        #expect(!FileManager.default.fileExists(atPath: auditPath))
    }

    /// The plan is where a person reviews what rules will say and do: whole
    /// texts, wrapped and indented; one net change per field, with every
    /// rule that took part. The JSON plan has the same; the audit log keeps
    /// every step, emails whole.
    /// `JOBRULES_NOW` is the clock of every command not given `--now`.
    @Test func theClockCanComeFromTheEnvironment() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["JOBRULES_NOW"] = "2026-11-22T09:30:00Z"
        let dry = try jobrules.run(["run", "--dry-run", "--rules", shippedRules], in: scratch.url, environment: environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.hasPrefix("store.json at 2026-11-22T09:30:00Z (dry run: nothing written)\n"), "\(dry.stdout)")
        let given = try jobrules.run(["run", "--dry-run", "--rules", shippedRules, "--now", now], in: scratch.url, environment: environment)
        #expect(given.stdout.hasPrefix("store.json at 2026-11-21T09:30:00Z (dry run"), "--now wins")
        environment["JOBRULES_NOW"] = "tomorrow"
        let bad = try jobrules.run(["run", "--dry-run", "--rules", shippedRules], in: scratch.url, environment: environment)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("JOBRULES_NOW: not an RFC 3339 time: 'tomorrow'"), "\(bad.stderr)")
    }

    /// `JOBRULES_STORE` is the store of every command not given `--store`.
    @Test func theStoreCanComeFromTheEnvironment() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["JOBRULES_STORE"] = "agency.json"
        let made = try jobrules.run(["init", "--now", now, "--no-rules", "--no-events"], in: scratch.url, environment: environment)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.hasPrefix("wrote the sample store to agency.json"), "\(made.stdout)")
        #expect(!made.stdout.contains("--store"), "the next commands find it the same way")
        let tagged = try jobrules.run(["exec", "--now", now, "-e", "jobs.get('J-1001'):tag('env')"], in: scratch.url, environment: environment)
        #expect(tagged.status == 0, "\(tagged.stderr)")
        let agency = try JSONStoreFile(path: scratch.url.appendingPathComponent("agency.json").path).load().store
        #expect(agency.jobs[try #require(agency.job("J-1001"))].tags == ["env"])
        #expect(try job(try store(), "J-1001").tags.isEmpty, "store.json untouched")
        let given = try jobrules.run(["exec", "--store", "store.json", "--now", now, "-e", "jobs.get('J-1001'):tag('given')"], in: scratch.url, environment: environment)
        #expect(given.status == 0)
        #expect(try job(try store(), "J-1001").tags == ["given"], "--store wins")
    }

    /// Net changes keep equal list elements apart: two rules each adding the
    /// same note plan two notes, as the store will hold two.
    @Test func thePlanCountsEqualElements() throws {
        let rules = try writeRules([
            "10-a.lua": #"rule{name = "a", on = "jobs", where = {id = "J-1001"}, run = function(job) job:note("chased") end}"#,
            "20-b.lua": #"rule{name = "b", on = "jobs", where = {id = "J-1001"}, run = function(job) job:note("chased") end}"#,
        ])
        let result = try run(["run", "--rules", rules, "--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        let notes = result.stdout.split(separator: "\n").filter { $0.contains("notes:") && $0.contains("+") }
        #expect(notes.count == 2, "\(result.stdout)")
        let json = try run(["run", "--rules", rules, "--dry-run", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let plan = report["plan"] as? [[String: Any]] ?? []
        let job = try #require(plan.first { $0["object"] as? String == "J-1001" })
        let added = (job["changes"] as? [[String: Any]] ?? []).filter { $0["field"] as? String == "notes" }
        #expect(added.count == 2, "\(job)")
    }

    /// Work the host does for a script runs within its limits too: a long
    /// word in a plan is cut in time proportional to it, a long id in a
    /// filter is near no other.
    @Test func longTextsAndIdsCostInProportion() throws {
        let word = try run(["exec", "--dry-run", "-e", #"jobs.get("J-1001"):note(string.rep("x", 1000000))"#])
        #expect(word.status == 0, "\(word.stderr)")
        #expect(word.stderr.contains(String(repeating: "x", count: 76) + "\n"), "the word cut at the width")
        let id = try jobrules.run(
            ["exec", "--now", now, "--timeout", "2s", "-e", #"jobs.where{merchant = string.rep("x", 1 << 24)}"#], in: scratch.url, timeout: 60)
        #expect(!id.timedOut)
        #expect(id.status == 1)
        #expect(id.stderr.contains(#"no merchant with the id "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" (16777216 bytes) (merchants are named by id"#),
                "\(id.stderr.prefix(300))")
        #expect(id.stderr.utf8.count < 2000)
    }

    @Test func thePlanShowsWholeTextsAndNetChanges() throws {
        let long = String(repeating: "We would be glad to help with your store. ", count: 4) + "\nWhich theme do you use?"
        let rules = try writeRules([
            "10-first.lua": """
                rule{name = "first", on = "jobs", where = function(job) return job.id == "J-1001" end, run = function(job)
                  job:assign("m2"); job:tag("tmp"); job:open()
                  notify{to = "m1", subject = "Heads up", body = [[\(long)]], job = job}
                end}
                """,
            "20-second.lua": """
                rule{name = "second", on = "jobs", where = function(job) return job.id == "J-1001" end, run = function(job)
                  job:untag("tmp"); job:assign("m1"); job:unassign("m2")
                  job:reply([[\(long)]], "m1")
                end}
                """,
        ])
        let result = try run(["run", "--rules", rules, "--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(shown as "))
        #expect(result.stdout.contains("""
              ~ job J-1001
                  status:            "new" → "responded"  (rule:first, rule:second)
                  opened_at:         null → "2026-11-21T09:30:00Z"  (rule:first)
                  assignees:         + "m1"  (rule:second)
            """), "\(result.stdout)")
        #expect(!result.stdout.contains("\"tmp\""), "a tag added and removed is no change")
        #expect(!result.stdout.contains("\"m2\""), "an assignee added and removed is no change")
        #expect(!result.stdout.contains("…"), "no text is cut")
        #expect(result.stdout.contains("""
                  body     │ We would be glad to help with your store. We would be glad to help with your
                           │ store. We would be glad to help with your store. We would be glad to help
                           │ with your store.
                           │ Which theme do you use?
            """), "\(result.stdout)")
        #expect(result.stdout.contains("""
                  body  │ We would be glad to help with your store. We would be glad to help with your
            """))

        let json = try run(["run", "--rules", rules, "--dry-run", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let plan = try #require(report["plan"] as? [[String: Any]])
        let job = try #require(plan.first { $0["object"] as? String == "J-1001" }?["changes"] as? [[String: Any]])
        let status = try #require(job.first { $0["field"] as? String == "status" })
        #expect(status["old"] as? String == "new" && status["new"] as? String == "responded")
        #expect(status["actors"] as? [String] == ["rule:first", "rule:second"])
        #expect(!job.contains { $0["field"] as? String == "tags" })
        let email = try #require(plan.first { $0["kind"] as? String == "outbox" && ($0["changes"] as? [[String: Any]])?.first.map { ($0["new"] as? [String: Any])?["subject"] as? String == "Heads up" } == true })
        let created = try #require((email["changes"] as? [[String: Any]])?.first?["new"] as? [String: Any])
        #expect(created["body"] as? String == long)

        let saved = try run(["run", "--rules", rules])
        #expect(saved.status == 0)
        let audit = try String(contentsOfFile: auditPath, encoding: .utf8).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(audit.contains { ($0["new"] as? [String: Any])?["body"] as? String == long && $0["kind"] as? String == "outbox" })
        #expect(audit.filter { $0["object"] as? String == "J-1001" && $0["field"] as? String == "tags" }.count == 2, "the log keeps the steps")
    }

    /// An id a filter names must be the store's: a name, a typo or a case
    /// slip is an error naming the nearest ids, never a silent "nothing".
    /// Related objects are reached by their fields.
    @Test func filtersRefuseUnknownIdsAndReachRelatedFields() throws {
        let cases: [(filter: String, expected: String)] = [
            ("{merchant = 'Maple Goods'}", "filter field 'merchant': no merchant with the id \"Maple Goods\" (did you mean \"mer1\" (Maple Goods)?)"),
            ("{assignee = 'm99'}", "filter field 'assignee': no member with the id \"m99\" (members are named by id: \"m1\" (Ana Ruiz), \"m2\" (Ben Okafor)"),
            ("{service = 'SEO'}", "filter field 'service': no service with the id \"SEO\" (did you mean \"seo\" (Search engine optimization)?)"),
            ("{merchant = {colour = 'red'}}", "filter field 'merchant': unknown merchant field 'colour' (known: country, dropshipper, id, industry, name)"),
        ]
        for (filter, expected) in cases {
            let result = try run(["exec", "-e", "print(#jobs.where\(filter))"])
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("jobrules: (command line):1: " + expected), "\(filter): \(result.stderr)")
        }
        let related = try run([
            "exec", "-e",
            """
            print(#jobs.where{merchant = {industry = "home"}}, #jobs.where{merchant = {"mer1", "mer6"}},
                  #jobs.where{assignee = {role = "lead"}}, #jobs.where{assignee = "m1"},
                  #jobs.where{merchant = {dropshipper = true}, status = {"new", "opened"}})
            """,
        ])
        #expect(related.status == 0, "\(related.stderr)")
        let counts = related.stdout.split(separator: "\t").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(counts.count == 5)
        #expect(counts[2] == counts[3], "the lead is m1")
        #expect(counts[0] > 0 && counts[4] > 0)
        // A service some job has, though the agency doesn't offer it, is known.
        #expect(try run(["exec", "-e", "print(#jobs.where{service = 'photography'})"]).stdout == "1\n")

        // check: against the empty store ids can't be known; against a store, they are checked.
        let rules = try writeRules(["typo.lua": "rule{name = 'mine', on = 'jobs', where = {assignee = 'm99'}, run = function() end}\n"])
        #expect(try jobrules.run(["check", "--rules", rules], in: scratch.url).status == 0)
        let checked = try jobrules.run(["check", "--rules", rules, "--store", "store.json"], in: scratch.url)
        #expect(checked.status == 1)
        #expect(checked.stderr.contains("my-rules/typo.lua:1: rule 'mine': 'where': filter field 'assignee': no member with the id \"m99\""))
        #expect(checked.stderr.contains("(a run on this store fails rule mine; the other rules run)"), "\(checked.stderr)")
        #expect(checked.stdout == "0 rules in 1 file; 1 rule fails on this store\n")
    }

    /// An id the store lacks in a rule's `where` table is the store's data at
    /// odds with that rule (a member gone, a merchant not there yet): that
    /// rule fails, the others run and the expiry is saved.
    @Test func aRuleNamingAnIdTheStoreLacksFailsAlone() throws {
        let rules = try writeRules([
            "10-gone.lua": "rule{name = 'to-m99', on = 'jobs', where = {assignee = 'm99'}, run = function(job) job:tag('x') end}\n",
            "20-fine.lua": "rule{name = 'tag-new', on = 'jobs', where = {status = 'new'}, run = function(job) job:tag('seen') end}\n",
        ])
        let result = try run(["run", "--rules", rules])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("""
              rule to-m99 (it did not run; the other rules did):
                my-rules/10-gone.lua:1: rule 'to-m99': 'where': filter field 'assignee': no member with the id "m99"
            """), "\(result.stdout)")
        #expect(result.stdout.contains("revision 0 → 1"), "\(result.stdout)")
        let store = try store()
        #expect(try job(store, "J-1001").tags == ["seen"])
        #expect(try job(store, "J-1006").status == .expired)
        let json = try run(["run", "--rules", rules, "--dry-run", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let errors = report["errors"] as? [[String: Any]] ?? []
        #expect(errors.count == 1 && errors.first?["kind"] as? String == "rule" && errors.first?["rule"] as? String == "to-m99", "\(errors)")
        #expect(errors.first?["line"] as? Int == 1)

        // --only: a rule that can't run is that rule's failure, and no other's.
        let other = try run(["run", "--rules", rules, "--only", "tag-new", "--dry-run"])
        #expect(other.status == 0, "\(other.stdout)\(other.stderr)")
        let asked = try run(["run", "--rules", rules, "--only", "to-m99", "--dry-run"])
        #expect(asked.status == 1, "\(asked.stderr)")
        #expect(asked.stdout.contains("rule to-m99 (it did not run; the other rules did):"), "\(asked.stdout)")

        // The unknown id doesn't hide what else is wrong with the table, and the name stays taken.
        let both = try writeRules([
            "10-gone.lua": "rule{name = 'to-m99', on = 'jobs', where = {assignee = 'm99', status = 'opne'}, run = function(job) end}\n",
            "20-fine.lua": "rule{name = 'to-m99', on = 'jobs', where = {status = 'new'}, run = function(job) job:tag('seen') end}\n",
        ])
        let refused = try run(["run", "--rules", both])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("my-rules/10-gone.lua:1: rule 'to-m99': 'where': filter field 'status': unknown job status \"opne\""), "\(refused.stderr)")
        try FileManager.default.removeItem(at: scratch.url.appendingPathComponent("my-rules"))
        let taken = try writeRules([
            "10-gone.lua": "rule{name = 'to-m99', on = 'jobs', where = {assignee = 'm99'}, run = function(job) end}\n",
            "20-fine.lua": "rule{name = 'to-m99', on = 'jobs', where = {status = 'new'}, run = function(job) job:tag('seen') end}\n",
        ])
        let twice = try run(["run", "--rules", taken])
        #expect(twice.status == 2)
        #expect(twice.stderr.contains(
            "my-rules/20-fine.lua:1: rule 'to-m99': the name is already taken by the rule declared at my-rules/10-gone.lua:1 (which can't run on this store)"),
            "\(twice.stderr)")
    }

    /// One typo fails every item the same way: the report says it once, with
    /// a count and the first ids; the JSON report keeps every item.
    @Test func identicalErrorsAreGrouped() throws {
        let rules = try writeRules(["typo.lua": "rule{name = 'typo', on = 'jobs', run = function(job) return job.budgt.max end}\n"])
        let result = try run(["run", "--rules", rules, "--dry-run"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("""
            30 errors, 1 distinct (those items' changes were rolled back)
              rule typo on 30 jobs (J-1001, J-1002, J-1003, J-1004, J-1005, … and 25 more):
                my-rules/typo.lua:1: Job has no field or method 'budgt'
            """), "\(result.stdout)")
        #expect(result.stdout.components(separatedBy: "has no field or method").count == 2)
        let json = try run(["run", "--rules", rules, "--dry-run", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((report["errors"] as? [Any])?.count == 30)
    }

    /// With --json, standard output is one JSON document on every exit.
    @Test func jsonIsOneDocumentOnEveryExit() throws {
        let cases: [(arguments: [String], exit: Int, error: String)] = [
            (["run", "--json", "--store", "missing.json", "--rules", shippedRules], 2, "no store at 'missing.json'"),
            (["run", "--json", "--rules", "nowhere"], 2, "no rule file or directory 'nowhere'"),
            (["run", "--json", "--now", "tomorrow"], 2, "--now: not an RFC 3339 time: 'tomorrow'"),
            (["run", "--json", "--rules", shippedRules, "--only", "nope"], 2, "no rule named 'nope'"),
            (["import", "nothing.jsonl", "--json"], 2, "cannot read 'nothing.jsonl'"),
        ]
        for (arguments, exit, error) in cases {
            let result = try jobrules.run(arguments, in: scratch.url)
            #expect(result.status == Int32(exit))
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(arguments): \(result.stdout)")
            #expect(document["exit"] as? Int == exit)
            #expect((document["error"] as? String)?.hasPrefix(error) == true, "\(arguments): \(document)")
            #expect(document["command"] as? String == arguments[0])
        }
        let ran = try run(["run", "--json", "--rules", shippedRules, "--dry-run"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(ran.stdout.utf8)) as? [String: Any])
        #expect(report["exit"] as? Int == 0 && report["error"] is NSNull)
    }

    @Test func jsonReportFollowsTheSchema() throws {
        let result = try run(["run", "--rules", shippedRules, "--dry-run", "--json"])
        #expect(result.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["store"] as? String == "store.json")
        #expect(report["now"] as? String == now)
        #expect(report["dry_run"] as? Bool == true)
        #expect(report["saved"] as? Bool == false)
        #expect(report["revision_before"] as? Int == 0)
        #expect(report["expired"] as? [String] == ["J-1006", "J-1011"])
        #expect(report["change_count"] as? Int == 46)
        let rules = try #require(report["rules"] as? [[String: Any]])
        #expect(rules.map { $0["name"] as? String } == [
            "decline-mismatched", "assign-by-service", "escalate-near-expiry", "notify-due-soon", "request-extension-late",
        ])
        #expect(rules[0]["file"] as? String == shippedRules + "/01-decline-mismatched.lua")
        #expect(rules[0]["line"] as? Int == 41)
        #expect(rules[0]["matched"] as? Int == 12)
        #expect(rules[0]["seconds"] is Double)
        #expect((report["errors"] as? [Any])?.isEmpty == true)
        let plan = try #require(report["plan"] as? [[String: Any]])
        #expect(plan.count == 28)
        let j1004 = try #require(plan.first { $0["object"] as? String == "J-1004" })
        let changes = try #require(j1004["changes"] as? [[String: Any]])
        #expect(changes.first?["field"] as? String == "status")
        #expect(changes.first?["old"] as? String == "new")
        #expect(changes.first?["new"] as? String == "declined")
        #expect(changes.first?["actors"] as? [String] == ["rule:decline-mismatched"])
    }

    func writeRules(_ files: [String: String]) throws -> String {
        let dir = scratch.url.appendingPathComponent("my-rules")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        // Relative to the working directory, as a user gives it: Lua shortens long chunk names.
        return "my-rules"
    }

    static let failingRules = [
        "10-tag.lua": """
            rule {
              name = "tag-new",
              on = "jobs",
              where = {status = "new"},
              run = function(job)
                job:tag("seen")
                if job.id == "J-1003" then
                  local missing = nil
                  return missing.field
                end
              end,
            }
            """,
        "20-note.lua": """
            rule{name = "note-opened", on = "jobs", where = {status = "opened"}, run = function(job) job:note("checked") end}
            """,
    ]

    @Test func aFailingItemIsRolledBackTheRestIsSavedAndTheRunExitsOne() throws {
        let rules = try writeRules(Self.failingRules)
        let result = try run(["run", "--rules", rules])
        #expect(result.status == 1)
        #expect(result.stdout.contains("\n1 error (those items' changes were rolled back)\n"))
        #expect(result.stdout.contains("""
              rule tag-new on job J-1003:
                my-rules/10-tag.lua:9: attempt to index a nil value (local 'missing')
                stack traceback:
            """.replacingOccurrences(of: "my-rules", with: rules)))
        #expect(result.stdout.contains("\(rules)/10-tag.lua:9: in function <\(rules)/10-tag.lua:5>"))
        let store = try store()
        #expect(store.revision == 1)
        #expect(try job(store, "J-1003").tags == [])
        #expect(try job(store, "J-1001").tags == ["seen"])
        #expect(try job(store, "J-1008").notes.map(\.text.string) == ["checked"])
    }

    @Test func failFastSavesNothing() throws {
        let rules = try writeRules(Self.failingRules)
        let before = try bytes()
        let result = try run(["run", "--rules", rules, "--fail-fast"])
        #expect(result.status == 2, "stopped, nothing written: the status that says so")
        #expect(result.stdout.contains(": stopped at the first error, nothing written (revision 0)\n"))
        #expect(result.stdout.contains("1 error (stopped at the first: --fail-fast)"))
        #expect(try bytes() == before)
        #expect(!FileManager.default.fileExists(atPath: auditPath))
        let json = try run(["run", "--rules", rules, "--fail-fast", "--json"])
        #expect(json.status == 2)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["exit"] as? Int == 2)
    }

    @Test func onlyRunsTheNamedRules() throws {
        let rules = try writeRules(Self.failingRules)
        let result = try run(["run", "--rules", rules, "--only", "note-opened"])
        #expect(result.status == 0)
        #expect(!result.stdout.contains("tag-new"))
        #expect(try job(try store(), "J-1001").tags == [])
        let unknown = try run(["run", "--rules", rules, "--only", "nope"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "jobrules: no rule named 'nope' (declared: tag-new, note-opened)\n")
    }

    /// A digest at a file's top level: it looks for a member by role, and
    /// writes to them, before declaring the file's rule.
    static func digest(role: String) -> String {
        """
        local lead
        for _, m in ipairs(members.all()) do
          if m.role == "\(role)" then lead = m end
        end
        print("digest for " .. lead.name)
        notify{to = lead, subject = "Open jobs: " .. jobs.count{status = "new"}, body = "See the plan."}
        rule{name = "tag-digested", on = "jobs", where = {status = "new"}, run = function(job) job:tag("digested") end}
        """
    }

    @Test func aRuntimeErrorAtAFilesTopLevelFailsThatFileAlone() throws {
        let rules = try writeRules([
            "10-digest.lua": Self.digest(role: "owner"),
            "20-tag.lua": "rule{name = 'tag-new', on = 'jobs', where = {status = 'new'}, run = function(job) job:tag('seen') end}\n",
        ])
        let result = try run(["run", "--rules", rules])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("store.json at 2026-11-21T09:30:00Z: revision 0 → 1,"), "\(result.stdout)")
        #expect(result.stdout.contains("expired: 2 jobs (J-1006, J-1011)"))
        #expect(result.stdout.contains("the top level of my-rules/10-digest.lua (none of its rules ran; its other files' did):"))
        #expect(result.stdout.contains("my-rules/10-digest.lua:5: attempt to index a nil value (local 'lead')"))
        #expect(result.stdout.contains("stack traceback:"))
        let store = try store()
        #expect(try job(store, "J-1006").status == .expired, "expiry is saved")
        #expect(try job(store, "J-1001").tags == ["seen"], "the other file's rules ran")
        #expect(!store.outbox.contains { $0.subject.hasPrefix("Open jobs") })

        let json = try run(["run", "--rules", rules, "--dry-run", "--json"])
        #expect(json.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let errors = try #require(report["errors"] as? [[String: Any]])
        #expect(errors.count == 1)
        #expect(errors.first?["kind"] as? String == "file" && errors.first?["object"] as? String == "my-rules/10-digest.lua")
        #expect(errors.first?["rule"] is NSNull && errors.first?["line"] as? Int == 5)
        #expect((errors.first?["traceback"] as? String ?? "").contains("in main chunk"))
    }

    @Test func onlyRunsTheTopLevelOfTheFilesItNeeds() throws {
        let rules = try writeRules([
            "10-digest.lua": Self.digest(role: "lead"),
            "20-tag.lua": "print('tag file loaded')\nrule{name = 'tag-new', on = 'jobs', where = {status = 'new'}, run = function(job) job:tag('seen') end}\n",
        ])
        let other = try run(["run", "--rules", rules, "--only", "tag-new", "--dry-run"])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(!other.stdout.contains("digest for"), "the digest's file declares no selected rule")
        #expect(!other.stdout.contains("Open jobs"))
        #expect(other.stdout.contains("tag file loaded"))
        #expect(other.stdout.contains("tags: + \"seen\""))
        let digest = try run(["run", "--rules", rules, "--only", "tag-digested", "--dry-run"])
        #expect(digest.status == 0, "\(digest.stderr)")
        #expect(digest.stdout.contains("digest for Ana Ruiz"))
        #expect(digest.stdout.contains("Open jobs: "))
        #expect(!digest.stdout.contains("tag file loaded"))
        #expect(!digest.stdout.contains("tags: + \"seen\""))
    }

    @Test func aBadRuleFileWritesNothingAndExitsTwo() throws {
        let rules = try writeRules([
            "a.lua": "rule{name = 'fine', on = 'jobs', run = function() end}",
            "b.lua": "rule{name = 'x', on = 'jobs',\n  run = function(job) end\n",
            "c.lua": "rule{name = 'fine', on = 'jobs', run = function() end}",
        ])
        let before = try bytes()
        let result = try run(["run", "--rules", rules])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("jobrules: rule files are invalid, nothing was run or written:\n\(rules)/b.lua:3: '}' expected (to close '{' at line 1) near <eof>\n\(rules)/c.lua:1: rule 'fine': the name is already taken by the rule declared at \(rules)/a.lua:1\n"))
        #expect(try bytes() == before)
        let missing = try run(["run", "--rules", "nowhere"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "jobrules: no rule file or directory 'nowhere'\n")
    }

    @Test func checkReportsEveryProblemWithItsLine() throws {
        let good = try jobrules.run(["check", "--rules", shippedRules], in: scratch.url)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.hasPrefix("ok: 5 rules in 4 files\n"))
        #expect(good.stdout.contains("notify-due-soon              on orders  \(shippedRules)/04-chase-late-orders.lua:32"))
        let rules = try writeRules([
            "a.lua": """
                rule{name = 'one', on = 'jobs', where = {status = 'opne'}, run = function() end}
                rule{name = 'good', on = 'jobs', run = function() end}
                rule{name = 'two', on = 'job', run = 'nope'}
                """,
            "b.lua": "local x = = 1\n",
            "c.lua": "rule{name = 'good', on = 'orders', where = function() end, run = function() end}\n",
        ])
        let bad = try jobrules.run(["check", "--rules", rules], in: scratch.url)
        #expect(bad.status == 2)
        #expect(bad.stdout == """
            \(rules)/a.lua:1: rule 'one': 'where': filter field 'status': unknown job status "opne" (known: new, opened, responded, awaiting_response, declined, expired, inactive, completed)
            \(rules)/a.lua:3: rule 'two': 'on' must be "jobs" or "orders" ("job")
            \(rules)/a.lua:3: rule 'two': 'run' must be a function, not string
            \(rules)/b.lua:1: unexpected symbol near '='
            \(rules)/c.lua:1: rule 'good': the name is already taken by the rule declared at \(rules)/a.lua:2

            """)
        #expect(bad.stderr == "jobrules: 5 problems in the rule files\n")
    }

    @Test func execActsOnTheStoreAndSavesOnce() throws {
        try scratch.write("vacation.lua", """
            agency.set_preference("available", false)
            for job in jobs.each{status = "new", unassigned = true} do job:assign("m2") end
            print(jobs.count{assignee = "m2"})
            """)
        let result = try run(["exec", "vacation.lua"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "12\n")
        #expect(result.stderr == "jobrules: store.json: revision 0 → 1, 21 changes saved\n")
        let store = try store()
        #expect(store.agency.preferences.available == false)
        let audit = try String(contentsOfFile: auditPath, encoding: .utf8)
        #expect(audit.contains("\"actor\":\"exec:vacation.lua\""))
        #expect(audit.contains("\"actor\":\"expiry\""))
    }

    @Test func execDryRunAndErrorsWriteNothing() throws {
        try scratch.write("tag.lua", "jobs.get('J-1001'):tag('x')\n")
        let before = try bytes()
        let dry = try run(["exec", "tag.lua", "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.stderr.hasPrefix("jobrules: dry run, nothing written; the plan (5 changes):\n"))
        #expect(dry.stderr.contains("  ~ job J-1001  (exec:tag.lua)\n      tags: + \"x\"\n"))
        try scratch.write("bad.lua", "jobs.get('J-1001'):tag('x')\njobs.get('J-1017'):open()\n")
        let bad = try run(["exec", "bad.lua"])
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("jobrules: bad.lua:2: job J-1017 is expired: expired jobs can't be acted upon\nstack traceback:"))
        #expect(try bytes() == before)
        #expect(!FileManager.default.fileExists(atPath: auditPath))
    }

    @Test func execRunsTheRulesAScriptDeclares() throws {
        try scratch.write("both.lua", """
            jobs.get('J-1001'):tag('top')
            rule{name = 'tag-all-new', on = 'jobs', where = {status = 'new'}, run = function(job) job:tag('rule') end}
            """)
        let result = try run(["exec", "both.lua"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("tag-all-new  jobs           8        8       0"))
        let store = try store()
        #expect(try job(store, "J-1001").tags == ["top", "rule"])
    }

    // MARK: A terminal

    /// Runs jobrules on a pseudo-terminal (util-linux `script`): stdout and stderr as one stream.
    func onTerminal(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        let command = ([jobrules.url.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        process.arguments = ["-qfec", command, "/dev/null"]
        process.currentDirectoryURL = scratch.url
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = nil
        env["TERM"] = "xterm"
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func colourAndProgressOnlyOnATerminal() throws {
        let coloured = try onTerminal(["run", "--rules", shippedRules, "--dry-run", "--now", now])
        #expect(coloured.status == 0)
        #expect(coloured.output.contains("\u{1B}[33m~ job J-1004\u{1B}[0m"))
        let plain = try onTerminal(["run", "--rules", shippedRules, "--dry-run", "--now", now], environment: ["NO_COLOR": "1"])
        #expect(plain.status == 0)
        #expect(plain.output.contains("~ job J-1004"))
        #expect(!plain.output.contains("\u{1B}["))
        // A run that takes a while shows where it is, then clears the line.
        let rules = try writeRules([
            "slow.lua": "rule{name = 'slow', on = 'jobs', where = function(job) local t = os.clock() while os.clock() - t < 0.04 do end return false end, run = print}"
        ])
        let slow = try onTerminal(["run", "--rules", rules, "--dry-run", "--now", now], environment: ["NO_COLOR": "1"])
        #expect(slow.status == 0)
        let line = try #require(slow.output.range(of: "\r\u{1B}[K[1/1] slow: "), "no progress line in: \(slow.output)")
        // The line is cleared before the report.
        let report = try #require(slow.output.range(of: "store.json at "))
        #expect(line.upperBound < report.lowerBound)
        #expect(slow.output[..<report.lowerBound].hasSuffix("\r\u{1B}[K"))
        // Not on a terminal: no progress line.
        let piped = try run(["run", "--rules", rules, "--dry-run"])
        #expect(!piped.stderr.contains("[1/1]"))
    }

    @Test func checkRunsTopLevelsAgainstAStoreWithoutWritingIt() throws {
        let rules = try writeRules([
            "lead.lua": "local lead = members.get('m1').email\nrule{name = 'x', on = 'jobs', run = function() return lead end}\n"
        ])
        let before = try bytes()
        let empty = try jobrules.run(["check", "--rules", rules], in: scratch.url)
        #expect(empty.status == 0)
        #expect(empty.stdout == "ok: 0 rules in 1 file\n")
        #expect(empty.stderr.hasPrefix("warning: my-rules/lead.lua:1: attempt to index a nil value\n"), "\(empty.stderr)")
        #expect(empty.stderr.contains("raised against an empty store; declarations after that line were not checked"))
        let withStore = try jobrules.run(["check", "--rules", rules, "--store", "store.json"], in: scratch.url)
        #expect(withStore.status == 0, "\(withStore.stdout)")
        let digest = try writeRules(["lead.lua": Self.digest(role: "owner")])
        let failing = try jobrules.run(["check", "--rules", digest, "--store", "store.json"], in: scratch.url)
        #expect(failing.status == 1)
        #expect(failing.stdout == "0 rules in 1 file; the top level of 1 file fails on this store\n")
        #expect(failing.stderr.contains("my-rules/lead.lua:5: attempt to index a nil value (local 'lead')"))
        #expect(try bytes() == before)
        #expect(!FileManager.default.fileExists(atPath: auditPath))
    }

    // MARK: The example scripts

    var scripts: URL { URL(fileURLWithPath: shippedRules).deletingLastPathComponent().appendingPathComponent("scripts") }

    @Test func vacationModeGoesAndComesBack() throws {
        let script = scripts.appendingPathComponent("vacation-mode.lua").path
        let away = try run(["exec", script])
        #expect(away.status == 0, "\(away.stderr)")
        #expect(away.stdout == "Northwind Studio: on vacation; told 5 team members; 16 jobs waiting for an answer.\n")
        var store = try store()
        #expect(store.agency.preferences.available == false)
        let emails = store.outbox.filter { $0.subject == "Northwind Studio is on vacation" }
        #expect(emails.map(\.to) == [
            "ana@northwind.example", "ben@northwind.example", "chen@northwind.example", "dana@northwind.example",
            "emeka@northwind.example",
        ])
        #expect(emails.first?.body.string.contains("J-1001 [new] Refresh product pages for the winter collection (nobody)") == true)
        let again = try run(["exec", script])
        #expect(again.stdout == "Northwind Studio is already on vacation: nothing to do.\n")
        #expect(try self.store().revision == store.revision)
        let back = try run(["exec", script, "--", "off"])
        #expect(back.status == 0)
        store = try self.store()
        #expect(store.agency.preferences.available == true)
        #expect(store.outbox.last?.subject == "Northwind Studio is taking new work again")
        let bad = try run(["exec", script, "--", "maybe"])
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("jobrules: unknown argument \"maybe\": give nothing to go on vacation, or 'off' to come back\n"))
    }

    @Test func weeklySummaryPrintsAndChangesNothingItself() throws {
        let result = try run(["exec", scripts.appendingPathComponent("weekly-summary.lua").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("Weekly summary for Northwind Studio, 2026-11-14T09:30:00Z to 2026-11-21T09:30:00Z\n"))
        #expect(result.stdout.contains("Jobs by status (30):\n  awaiting_response                4\n"))
        #expect(result.stdout.contains("  (unassigned)                    11\n"))
        #expect(result.stdout.contains("Expired in the last 7 days: 3\n"))
        #expect(result.stdout.contains("Declined in the last 7 days: 1\n  store-setup (by agency)          1\n"))
        #expect(result.stdout.contains("Late orders: 1\n  O-3 seo for Copper Kettle Coffee, due 2026-11-19T09:30:00Z (48 hours ago)\n"))
        // A script that only reads saves nothing, not even the expiry at load.
        #expect(result.stderr == "")
        #expect(try store().revision == 0)
        #expect(!FileManager.default.fileExists(atPath: auditPath))
    }

    @Test func scriptsComeFromStandardInputOrTheCommandLine() throws {
        let one = try run(["exec", "-e", "print(jobs.count{status = 'new'})"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout == "8\n")
        let piped = try jobrules.run(
            ["exec", "-", "--now", now], in: scratch.url, input: "jobs.get('J-1001'):tag('piped')\nprint(arg[0])\n")
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == "-\n")
        #expect(piped.stderr.contains("revision 0 → 1"))
        let store = try store()
        #expect(try job(store, "J-1001").tags == ["piped"])
        let audit = try String(contentsOfFile: auditPath, encoding: .utf8)
        #expect(audit.contains("\"actor\":\"exec:stdin\""))
        let failing = try run(["exec", "-e", "local x = nil; return x.y"])
        #expect(failing.status == 1)
        #expect(failing.stderr.hasPrefix("jobrules: (command line):1: attempt to index a nil value (local 'x')"))
        let neither = try run(["exec"])
        #expect(neither.status == 2)
        #expect(neither.stderr.contains("give a script (SCRIPT.lua, or - for standard input) or -e 'LUA'"))
        // A dry run of a script that only reads says nothing would be saved, as nothing would.
        let later = try jobrules.run(["exec", "--dry-run", "--now", "2026-11-25T09:00:00Z", "-e", "print(jobs.count{})"], in: scratch.url)
        #expect(later.status == 0)
        #expect(later.stderr == "jobrules: dry run: the script changed nothing, so nothing would be saved (the expiry at load is saved by run and import)\n", "\(later.stderr)")
    }

    @Test func handOverMovesEveryOpenJobOfTheMember() throws {
        let script = scripts.appendingPathComponent("hand-over.lua").path
        let result = try run(["exec", script, "--", "m2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == """
            J-1008 → m1  Faster mobile checkout page
            J-1013 → m4  Monthly SEO retainer
            J-1021 → m5  Coffee subscription landing page
            J-1030 → m4  Speed up collection pages
            Ben Okafor: 4 jobs handed over, 0 left for the lead to place.

            """)
        let store = try store()
        let ben = try #require(store.member("m2"))
        #expect(store.openJobs(ofMember: ben) == 0)
        #expect(try job(store, "J-1008").assignees.map { store.members[$0].id } == ["m1"])
        #expect(try job(store, "J-1008").notes.last?.text.string == "Handed over from Ben Okafor to Ana Ruiz.")
        let missing = try run(["exec", script])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("jobrules: which member is leaving? jobrules exec scripts/hand-over.lua -- MEMBER_ID\n"))
    }
}
