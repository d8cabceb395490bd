import LuaHost
import Marketplace

/// A declared rule: `rule{name, description, on, where, run}`.
public struct Rule {
    public enum Collection: String, Sendable, CaseIterable {
        case jobs, orders
    }

    enum Selector {
        case all
        case filter(Filter)
        case function(LuaReference)
    }

    public let name: String
    public let description: String?
    public let collection: Collection
    let selector: Selector
    let run: LuaReference
    /// Where it was declared (`rules/02-assign.lua:3`).
    public let position: LuaPosition?

    func release(in lua: LuaState) {
        if case .function(let reference) = selector { lua.release(reference) }
        lua.release(run)
    }
}

/// What is wrong with a rule file or a declaration, and where.
public struct RuleProblem: Error, Sendable, CustomStringConvertible {
    public let position: LuaPosition?
    public let message: String

    public init(position: LuaPosition?, message: String) {
        self.position = position
        self.message = message
    }

    public var description: String { position.map { "\($0): \(message)" } ?? message }
}

extension Session {
    static let declarationKeys = ["description", "name", "on", "run", "where"]

    /// `rule{…}`: validates the declaration and keeps it. Every problem is
    /// found at once; in checking mode they are recorded and the file goes on.
    func declareRule(_ call: LuaCall) throws(LuaCallError) -> Int32 {
        let position = call.position(level: 1)
        guard call.type(1) == .table else {
            let problem = "rule{…} takes a table: rule{name = \"…\", on = \"jobs\", where = {…}, run = function(job) … end}"
            guard collectsProblems else { throw .message(problem) }
            problems.append(RuleProblem(position: position, message: problem))
            return 0
        }
        var problems: [String] = []
        let (keys, others) = call.stringKeys(1)
        for key in keys.sorted() where !Self.declarationKeys.contains(key) {
            problems.append("unknown key '\(key)' (a rule has \(Self.declarationKeys.joined(separator: ", ")))")
        }
        if others { problems.append("a rule has named keys only (\(Self.declarationKeys.joined(separator: ", ")))") }

        call.rawField(1, "name")
        let name = call.stringValue(-1)
        call.pop()
        let label: String
        if let name, !name.isEmpty, name.utf8.count <= 100,
            !name.unicodeScalars.contains(where: { $0.properties.isWhitespace || Limits.isControl($0.value) })
        {
            label = "rule '\(name)'"
            if !redeclaresRules, let earlier = rules.first(where: { $0.name == name }) {
                problems.append("the name is already taken by the rule declared at \(earlier.position.map(\.description) ?? "?")")
            } else if !redeclaresRules, let earlier = failedAlone[name] {
                problems.append("the name is already taken by the rule declared at \(earlier.map(\.description) ?? "?") (which can't run on this store)")
            }
        } else {
            label = "rule"
            problems.append("'name' must be a string of 1 to 100 characters without spaces or control characters")
        }

        call.rawField(1, "description")
        let description = call.stringValue(-1)
        if call.type(-1) != .nil && description == nil { problems.append("'description' must be a string") }
        call.pop()

        call.rawField(1, "on")
        let on = call.stringValue(-1)
        call.pop()
        let collection = on.flatMap(Rule.Collection.init(rawValue:))
        if collection == nil {
            let given = on.map { "\"\($0)\"" } ?? "missing"
            problems.append("'on' must be \"jobs\" or \"orders\" (\(given))")
        }

        call.rawField(1, "where")
        let whereIndex = call.absolute(-1)
        var selector = Rule.Selector.all
        /// A `where` table naming an id the store lacks, while loading rule files.
        var unknownID: String?
        switch call.type(whereIndex) {
        case .nil: break
        case .function: selector = .function(call.reference(whereIndex))
        case .table:
            refusedUnknownID = false
            do {
                switch collection {
                case .jobs: selector = .filter(.jobs(try jobFilter(call, whereIndex)))
                case .orders: selector = .filter(.orders(try orderFilter(call, whereIndex)))
                case nil: break
                }
            } catch {
                let text: String
                if case .message(let message) = error { text = "'where': \(message)" } else { text = "'where': \(error)" }
                if refusedUnknownID, collectsProblems {
                    // Data the file can't know about, unless the table is wrong besides: compiled
                    // again without the store's ids, anything else it has wrong is a problem of the file.
                    let checks = checksFilterIDs
                    checksFilterIDs = false
                    do {
                        switch collection {
                        case .jobs: _ = try jobFilter(call, whereIndex)
                        case .orders: _ = try orderFilter(call, whereIndex)
                        case nil: break
                        }
                        unknownID = text
                    } catch {
                        if case .message(let message) = error { problems.append("'where': \(message)") } else { problems.append("'where': \(error)") }
                    }
                    checksFilterIDs = checks
                } else {
                    problems.append(text)
                }
            }
            refusedUnknownID = false
        default:
            problems.append("'where' must be a filter table or a function, not \(call.describeType(whereIndex))")
        }
        call.pop()

        call.rawField(1, "run")
        let run: LuaReference? = call.type(-1) == .function ? call.reference(-1) : nil
        if run == nil { problems.append("'run' must be a function, not \(call.describeType(-1))") }
        call.pop()

        if let unknownID, !problems.isEmpty || name == nil || collection == nil || run == nil { problems.append(unknownID) }
        guard problems.isEmpty, let name, let collection, let run else {
            if let run { lua.release(run) }
            if case .function(let reference) = selector { lua.release(reference) }
            if collectsProblems {
                for problem in problems { self.problems.append(RuleProblem(position: position, message: "\(label): \(problem)")) }
                return 0
            }
            throw .message("\(label): " + problems.joined(separator: "; "))
        }
        if let unknownID {
            // The rule fails alone, as one whose every item failed would: the run goes on without it.
            lua.release(run)
            let message = (position.map { "\($0): " } ?? "") + "\(label): \(unknownID)"
            failedAlone[name] = position
            dataFailures.append(RuleFailure(
                rule: name, kind: "rule", object: name,
                error: LuaError(kind: .runtime, message: message, chunk: position?.chunk, line: position?.line)))
            return 0
        }
        let declared = Rule(
            name: name, description: description, collection: collection, selector: selector, run: run, position: position)
        if let earlier = rules.firstIndex(where: { $0.name == name }) {
            // Only when redeclaring is allowed (interactive use): the new one takes its place.
            rules[earlier].release(in: lua)
            rules[earlier] = declared
        } else {
            rules.append(declared)
        }
        return 0
    }
}
