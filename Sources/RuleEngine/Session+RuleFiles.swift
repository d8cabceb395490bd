import LuaHost
import Marketplace

/// What running the rule files' top level found.
public struct RuleFilesLoad: Sendable {
    /// Syntax errors and invalid declarations (with `file:LINE`): nothing
    /// may run or be written.
    public var problems: [String] = []
    /// Files whose top level raised an error (kind `file`, object the path):
    /// their rules are not declared and their top level's changes were
    /// rolled back; the other files are not affected. And rules whose
    /// `where` table names an id the store doesn't have (kind `rule`): they
    /// are not declared; the others are.
    public var failures: [RuleFailure] = []

    public init() {}
}

extension Session {
    /// Compiles every file, then runs each one's top level (declaring its
    /// rules) as actor `file:<path>`, in order. Every syntax error and
    /// invalid declaration is found (`problems`, in file order): a file that
    /// doesn't compile is skipped, and the caller runs nothing when there are
    /// problems. A runtime error at a file's top level fails that file alone
    /// (`failures`).
    ///
    /// With `only`, a file declaring none of those rules runs for its
    /// declarations alone: its changes are rolled back and what it prints is
    /// dropped (a digest at a file's top level belongs to that file's rules).
    ///
    /// Throws only what stops everything: the run's deadline, Ctrl-C.
    public func load(ruleFiles files: [RuleFile], only: [String]? = nil) throws(LuaError) -> RuleFilesLoad {
        var load = RuleFilesLoad()
        var syntax: [Int: String] = [:]
        for (n, file) in files.enumerated() {
            do {
                try lua.compile(bytes: file.source, chunkName: "@" + file.path)
            } catch {
                syntax[n] = error.message
            }
        }
        let collected = collectsProblems
        collectsProblems = true
        defer { collectsProblems = collected }
        // Rule files follow the batch's rule, also at a prompt: a name is
        // declared once (a second file can't replace a first file's rule,
        // and a file that fails takes every rule it declared with it).
        let redeclares = redeclaresRules
        redeclaresRules = false
        failedAlone = [:]
        defer {
            redeclaresRules = redeclares
            failedAlone = [:]
        }
        let actor = store.actor
        defer { store.actor = actor }
        for (n, file) in files.enumerated() {
            if let problem = syntax[n] {
                load.problems.append(problem)
                continue
            }
            store.actor = "file:" + file.path
            let savepoint = store.savepoint()
            let declaredBefore = rules.count
            let problemsBefore = problems.count
            if only != nil { lua.holdOutput() }
            do {
                try run(file: file.path, source: file.source)
            } catch {
                lua.releaseOutput(write: false)
                store.rollback(to: savepoint)
                dropRules(from: declaredBefore)
                for failure in dataFailures { failedAlone[failure.rule] = nil }
                dataFailures = []  // the file fails as a whole
                load.problems += problems[problemsBefore...].map(\.description)
                if error.kind == .deadline || error.kind == .interrupted { throw error }
                load.failures.append(RuleFailure(rule: "", kind: "file", object: file.path, error: error))
                continue
            }
            load.problems += problems[problemsBefore...].map(\.description)
            // With `only`, a rule not asked for that can't run is no failure of this run.
            load.failures += dataFailures.filter { only?.contains($0.rule) ?? true }
            dataFailures = []
            let mine = rules[declaredBefore...]
            if let only, !mine.contains(where: { only.contains($0.name) }) {
                lua.releaseOutput(write: false)
                store.rollback(to: savepoint)
            } else {
                lua.releaseOutput(write: true)
            }
        }
        return load
    }

    /// Forgets the rules declared from `index` on (a file that failed half way).
    func dropRules(from index: Int) {
        guard index < rules.count else { return }
        for rule in rules[index...] { rule.release(in: lua) }
        rules.removeSubrange(index...)
    }
}
