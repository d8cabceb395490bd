import LuaHost
import Marketplace

/// What one rule did in a run.
public struct RuleStats: Sendable {
    public let name: String
    public let collection: Rule.Collection
    public let position: LuaPosition?
    /// Items its `where` selected.
    public var matched = 0
    /// Items whose `run` changed something (and kept it).
    public var changed = 0
    /// Items whose `where` or `run` failed (their changes rolled back).
    public var errors = 0
    public var duration: Duration = .zero
}

/// A rule that failed on one item; that item's changes were rolled back.
public struct RuleFailure: Sendable {
    public let rule: String
    /// The kind and id of the item (`job`, `J-1001`).
    public let kind: String
    public let object: String
    public let error: LuaError
}

/// Failures with the same rule, kind, message and traceback, for reports:
/// one typo on a big store fails the same way on every item.
public struct FailureGroup: Sendable {
    public let first: RuleFailure
    /// The ids of every item that failed so, in order.
    public var objects: [String]

    /// `failures` grouped, in order of each group's first.
    public static func group(_ failures: [RuleFailure]) -> [FailureGroup] {
        var groups: [FailureGroup] = []
        var position: [String: Int] = [:]
        for failure in failures {
            let key = [failure.rule, failure.kind, failure.error.message, failure.error.traceback ?? ""].joined(separator: "\u{0}")
            if let k = position[key] {
                groups[k].objects.append(failure.object)
            } else {
                position[key] = groups.count
                groups.append(FailureGroup(first: failure, objects: [failure.object]))
            }
        }
        return groups
    }

    /// `job J-1001`, or `3 jobs (J-1001, J-1002, J-1003)`, or `291 jobs (J-1001, …, and 286 more)`.
    public var items: String {
        guard objects.count > 1 else { return "\(first.kind) \(objects[0])" }
        let shown = objects.prefix(5).joined(separator: ", ")
        return "\(objects.count) \(first.kind)s (\(shown)\(objects.count > 5 ? ", … and \(objects.count - 5) more" : ""))"
    }
}

/// What running the rules did.
public struct RunOutcome: Sendable {
    public var rules: [RuleStats] = []
    public var failures: [RuleFailure] = []
    /// A failure stopped the run (`--fail-fast`, or an interrupt).
    public var stopped = false
    /// The run's deadline (`LuaState.deadline`) stopped it.
    public var outOfTime = false
    /// Where it stopped: the rule and the item it was at.
    public var stoppedAt: (rule: String, kind: String, object: String)?

    public init() {}
}

/// How far a run is, for a progress line.
public struct RunProgress: Sendable {
    public let rule: String
    public let ruleNumber: Int
    public let rules: Int
    public let done: Int
    public let total: Int
}

extension Session {
    /// The declared rules named in `names`, in declaration order; throws the unknown names.
    public func rules(named names: [String]) throws(RuleProblem) -> [Rule] {
        let unknown = names.filter { name in !rules.contains { $0.name == name } }
        guard unknown.isEmpty else {
            let known = rules.map(\.name).joined(separator: ", ")
            throw RuleProblem(
                position: nil,
                message: "no rule named \(unknown.map { "'\($0)'" }.joined(separator: ", ")) (declared: \(known.isEmpty ? "none" : known))")
        }
        return rules.filter { names.contains($0.name) }
    }

    /// Runs `rules` in order, each over its collection in store order, in one
    /// pass. Each rule × item runs in a savepoint: an error rolls back that
    /// item's changes and the run goes on (or stops, with `failFast`).
    public func run(
        _ rules: [Rule], failFast: Bool = false, progress: ((RunProgress) -> Void)? = nil
    ) -> RunOutcome {
        var outcome = RunOutcome()
        let clock = ContinuousClock()
        for (number, rule) in rules.enumerated() {
            store.actor = "rule:" + rule.name
            var stats = RuleStats(name: rule.name, collection: rule.collection, position: rule.position)
            let started = clock.now
            let total = rule.collection == .jobs ? store.jobs.count : store.orders.count
            for i in 0..<total {
                // Calls into Lua stop at the deadline themselves; items a
                // filter skips cost no call, so the clock is read every 256.
                if i & 255 == 0, let deadline = lua.deadline, LuaState.monotonicNanoseconds() >= deadline {
                    outcome.stopped = true
                    outcome.outOfTime = true
                    outcome.stoppedAt = (rule.name, rule.collection == .jobs ? "job" : "order", rule.collection == .jobs ? store.jobs[i].id : store.orders[i].id)
                    break
                }
                if let progress {
                    progress(RunProgress(rule: rule.name, ruleNumber: number + 1, rules: rules.count, done: i, total: total))
                }
                if case .filter(let filter) = rule.selector {
                    switch filter {
                    case .jobs(let f): if !f.matches(store, i) { continue }
                    case .orders(let f): if !f.matches(store.orders[i], now: now) { continue }
                    }
                }
                let savepoint = store.savepoint()
                do {
                    if case .function(let predicate) = rule.selector {
                        let selected = try lua.call(predicate, arguments: { call in push(rule.collection, i, call) }) {
                            $0.truth(-1)
                        }
                        if !selected { continue }
                    }
                    stats.matched += 1
                    try lua.call(rule.run, arguments: { call in push(rule.collection, i, call) }) { _ in () }
                    if store.changes.count > savepoint.changeCount { stats.changed += 1 }
                    if !keepsRunUndo { store.release(savepoint) }
                } catch {
                    store.rollback(to: savepoint)
                    stats.errors += 1
                    let id = rule.collection == .jobs ? store.jobs[i].id : store.orders[i].id
                    outcome.failures.append(
                        RuleFailure(rule: rule.name, kind: rule.collection == .jobs ? "job" : "order", object: id, error: error))
                    // Ctrl-C and the run's deadline stop the whole run, not just this item.
                    if failFast || error.kind == .interrupted || error.kind == .deadline {
                        outcome.stopped = true
                        outcome.outOfTime = error.kind == .deadline
                        outcome.stoppedAt = (rule.name, rule.collection == .jobs ? "job" : "order", id)
                        break
                    }
                }
            }
            stats.duration = clock.now - started
            outcome.rules.append(stats)
            if outcome.stopped { break }
        }
        return outcome
    }

    private func push(_ collection: Rule.Collection, _ i: Int, _ call: LuaCall) -> Int32 {
        switch collection {
        case .jobs: push(job: i, call)
        case .orders: push(order: i, call)
        }
        return 1
    }
}
