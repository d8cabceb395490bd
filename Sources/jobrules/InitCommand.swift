import ArgumentParser
import Foundation
import Marketplace
import RuleEngine

/// `jobrules init`: a folder to explore: the sample store, the shipped rules,
/// and a feed of marketplace events dated for that store.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a sample store, the shipped rules and a sample feed to explore (never overwrites).",
        discussion: """
            The store: thirty jobs over every status and source, six members, two dropshipper \
            merchants, orders in every status (one late) and two prospective contacts. Times are \
            relative to --now, so some jobs are about to expire and some are past it.

            The rules: the four files that ship with jobrules (decline mismatched jobs, assign by \
            service, escalate jobs about to expire, chase late orders), written to --rules \
            (default: rules, where `run` looks), unless that directory exists already.

            The feed: one marketplace event of each type, dated in the hour before --now, for \
            `jobrules import` (default: sample-events.jsonl beside the store).

            What exists is left as it is: a store is never overwritten. In a folder with a store \
            and no rules, init writes the rules alone; when there is nothing to write it exits \
            with status 2.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("Where to write the shipped rules.", valueName: "DIR"))
    var rules = "rules"

    @Flag(help: "Don't write the shipped rules.")
    var noRules = false

    @Option(help: ArgumentHelp("Where to write the sample feed (default: sample-events.jsonl beside the store).", valueName: "FILE"))
    var events: String?

    @Flag(help: "Don't write the sample feed.")
    var noEvents = false

    func run() throws {
        let file = storeOptions.file
        let now = storeOptions.clock
        let store = Store.sample(now: now)
        var madeStore = true
        do {
            try file.create(store)
        } catch {
            // What is missing is written; a store that exists is left whole.
            guard case .exists = error, !noRules, !FileManager.default.fileExists(atPath: rules) else { throw error.asUsageError }
            madeStore = false
        }
        if madeStore {
            print(
                "wrote the sample store to \(file.path): \(store.jobs.count) jobs, \(store.orders.count) orders, "
                    + "its clock \(RFC3339.format(now))")
        } else {
            print("left \(file.path) as it is (it exists: jobrules init never overwrites a store)")
        }
        if !noRules { writeRules() }
        let feed = events ?? (file.path as NSString).deletingLastPathComponent.appendingPathComponentIfAny("sample-events.jsonl")
        if !madeStore || noEvents {
            // Its events are dated for the sample store just made.
        } else if FileManager.default.fileExists(atPath: feed) {
            print("left \(feed) as it is (it exists)")
        } else if FileManager.default.createFile(atPath: feed, contents: Data(Store.sampleEvents(now: now).utf8)) {
            print("wrote a sample feed of marketplace events to \(feed)")
        } else {
            printError("jobrules: warning: cannot write the sample feed \(feed)")
        }
        // A store from JOBRULES_STORE is the next commands' store too.
        let at = storeOptions.storeOption.map { $0 == "store.json" ? "" : " --store \($0)" } ?? ""
        let ruleOption = noRules || rules == "rules" ? "" : " --rules \(rules)"
        // A clock from JOBRULES_NOW holds for the next commands too; --now must be given again.
        let clock = storeOptions.now.map { " --now \($0)" } ?? ""
        let next = [
            ("jobrules run\(at)\(ruleOption)\(clock) --dry-run", "what the rules would change, and why"),
            ("jobrules repl\(at)\(ruleOption)\(clock)", "the store at a Lua prompt (:help lists everything)"),
            ("jobrules import \(feed)\(at)\(clock)", "feed it the marketplace's events"),
        ].filter { (madeStore && !noEvents) || !$0.0.hasPrefix("jobrules import") }
        let width = next.map(\.0.count).max() ?? 0
        print("\nNext:")
        for (command, what) in next { print("  " + command.padded(width) + "   " + what) }
    }

    /// The shipped rules into `rules`, unless it exists.
    private func writeRules() {
        let manager = FileManager.default
        if manager.fileExists(atPath: rules) {
            print("left \(rules) as it is (it exists); the shipped rules are in `jobrules init --rules DIR`")
            return
        }
        do {
            try manager.createDirectory(atPath: rules, withIntermediateDirectories: true)
            for (name, text) in ShippedRules.files {
                let path = (rules as NSString).appendingPathComponent(name)
                try Data(text).write(to: URL(fileURLWithPath: path), options: .withoutOverwriting)
            }
            print("wrote the shipped rules to \(rules)/: \(ShippedRules.files.map(\.name).joined(separator: ", "))")
        } catch {
            printError("jobrules: warning: cannot write the shipped rules to \(rules): \(error.localizedDescription)")
        }
    }
}

/// The rules that ship with jobrules (the repository's `rules/`), built in.
enum ShippedRules {
    static let files: [(name: String, text: [UInt8])] = [
        ("01-decline-mismatched.lua", PackageResources._1_decline_mismatched_lua),
        ("02-assign-by-service.lua", PackageResources._2_assign_by_service_lua),
        ("03-escalate-near-expiry.lua", PackageResources._3_escalate_near_expiry_lua),
        ("04-chase-late-orders.lua", PackageResources._4_chase_late_orders_lua),
    ]
}

extension String {
    /// `self`/`name`, or `name` alone when `self` is empty (a path in the working directory).
    fileprivate func appendingPathComponentIfAny(_ name: String) -> String {
        isEmpty ? name : (self as NSString).appendingPathComponent(name)
    }
}
