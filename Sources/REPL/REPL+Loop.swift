import Foundation
import LuaHost
import Marketplace
import RuleEngine

extension REPL {
    // MARK: At a terminal

    /// Reads and runs statements and commands until `:quit` or Ctrl-D; returns the exit status.
    public func interact() -> Int32 {
        do {
            try LuaInterrupts.install()
        } catch {
            warn("jobrules: \(error.message); Ctrl-C will end the REPL")
        }
        let completer = Completer(lua: lua) { [unowned self] place in self.completionValues(place) }
        let editor = LineEditor(history: options.history, historySize: options.historySize) { [unowned self] before, word in
            self.complete(before: before, word: word, completer)
        }
        self.editor = editor
        defer { editor.close() }
        say(style.bold(storeLine) + "\n")
        if let expiredLine { say(expiredLine + "\n") }
        say(style.dim(":help lists the commands and the API · Tab completes · Ctrl-C stops · Ctrl-D leaves") + "\n")
        keepGlobals()
        while true {
            fflush(nil)
            switch input(editor, prompt: prompt) {
            case .end:
                if leave() { return 0 }
            case .interrupted:
                continue
            case .line(let line):
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                if trimmed.hasPrefix(":") {
                    editor.remember(line)
                    if command(trimmed) == .quit { return 0 }
                    continue
                }
                guard let (typed, source) = statement(startingWith: line, editor) else { continue }
                editor.remember(typed)
                run(Array(source.utf8), label: typed, journaled: true)
            }
        }
    }

    /// One line from the person at the terminal, for as long as they take.
    func input(_ editor: LineEditor, prompt: String) -> LineEditor.Input {
        lua.idle()
        return editor.read(prompt: prompt)
    }

    /// The prompt, with the number of pending changes when there are any.
    var prompt: String {
        guard pending > 0 else { return "jobrules> " }
        let tag = "[\(pending) pending]"
        // Readline must not count colour codes as columns: \u{1}…\u{2} hide them.
        return "jobrules " + (style.color ? "\u{1}\u{1B}[33m\u{2}\(tag)\u{1}\u{1B}[0m\u{2}" : tag) + "> "
    }

    static let continuationPrompt = ">> "

    /// The whole statement that `first` starts, reading more lines while it is
    /// incomplete; nil when Ctrl-C or Ctrl-D abandons it.
    func statement(startingWith first: String, _ editor: LineEditor) -> (typed: String, source: String)? {
        var typed = first
        while true {
            if let source = chunk(for: typed) { return (typed, source) }
            switch input(editor, prompt: Self.continuationPrompt) {
            case .line(let more): typed += "\n" + more
            case .interrupted, .end: return nil
            }
        }
    }

    /// Asks `question`; the answer's first letter, lower-cased (nil for Ctrl-D).
    func ask(_ question: String) -> Character? {
        guard let editor else { return nil }
        while true {
            switch input(editor, prompt: question) {
            case .line(let answer):
                guard let letter = answer.trimmingCharacters(in: .whitespaces).lowercased().first else { continue }
                return letter
            case .interrupted: return "c"
            case .end: return nil
            }
        }
    }

    /// Whether to leave now: asks to save pending changes first.
    func leave() -> Bool {
        guard pending > 0 else { return true }
        switch ask("\(Self.count(pending, "change")) not saved. Save to \(file.path) before leaving? [y]es, [n]o, [c]ancel: ") {
        case "y": return save()
        case "n":
            say("left without saving \(Self.count(pending, "change"))\n")
            return true
        case nil where editor?.closed ?? true:
            // The terminal is gone: nobody can answer.
            say("left without saving \(Self.count(pending, "change"))\n")
            return true
        case nil:
            say("still here (Ctrl-D cancels the question); :quit asks again\n")
            return false
        default:
            return false
        }
    }

    /// The store's values where completion asks for them (`Completer.values`): ids, statuses, services, tags.
    func completionValues(_ place: String) -> [String] {
        let store = self.store
        switch place {
        case "jobs.status": return JobStatus.allCases.map(\.rawValue)
        case "jobs.source": return JobSource.allCases.map(\.rawValue)
        case "orders.status": return OrderStatus.allCases.map(\.rawValue)
        case "orders.view": return RuleEngine.orderViews
        case "jobs.service", "orders.service", "members.for_service", "agency.offers": return store.serviceIDs
        case "jobs.assignee", "members.get", "Job:assign", "Job:unassign": return store.members.map(\.id)
        case "jobs.merchant", "merchants.get": return store.merchants.map(\.id)
        case "jobs.id", "jobs.get": return store.jobs.map(\.id)
        case "orders.id", "orders.get": return store.orders.map(\.id)
        case "orders.buyer": return Array(Set(store.orders.map(\.buyer))).sorted()
        case "jobs.tag", "Job:tag", "Job:untag", "Job:has_tag":
            var tags = Set<String>()
            for job in store.jobs { tags.formUnion(job.tags) }
            return tags.sorted()
        default: return []
        }
    }

    /// Completion at the prompt: commands after `:`, the API after `:help` and `:show`, Lua everywhere else.
    func complete(before: String, word: String, _ completer: Completer) -> [Completer.Candidate] {
        guard before.hasPrefix(":") else { return completer.complete(before: before, word: word) }
        if before == ":" {
            return Self.commands.map(\.name).filter { $0.hasPrefix(word) }.map { .init(name: $0, isFunction: false) }
        }
        for name in ["help", "show"] where before.hasPrefix(":\(name) ") {
            return completer.complete(before: String(before.dropFirst(name.count + 2)), word: word)
        }
        return []
    }

    // MARK: Not at a terminal

    /// Runs all of `source` as one chunk, as `lua -` does: no prompt, no colour,
    /// nothing printed but what the script prints. Nothing is saved.
    public func runScript(_ source: [UInt8]) -> Int32 {
        let ok = run(source, label: "stdin", render: { _, _ in "" })
        fflush(nil)
        if ok && pending > 0 {
            warn(
                "jobrules: \(Self.count(pending, "change")) not saved: the REPL saves only on :save "
                    + "(`jobrules exec SCRIPT.lua` runs a script and saves)")
        }
        return ok ? 0 : 1
    }
}
