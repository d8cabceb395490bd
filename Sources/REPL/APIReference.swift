import Foundation

/// The Lua API's reference, read from the LuaLS annotations that ship with
/// jobrules (`types/jobrules.lua`, embedded at build time): one source for
/// editors, `:help` and the result types completion follows through calls.
public struct APIReference: Sendable {
    /// A function, method or global value.
    public struct Entry: Sendable {
        /// `jobs.get`, `Job:decline`, `now`.
        public let name: String
        /// `jobs.get(id: string) → Job?`
        public let signature: String
        /// `jobs.get(id) → Job?`
        public let shortSignature: String
        /// Description lines (the first is the summary).
        public let text: [String]
        public let examples: [String]
        /// The result type (`Job?`, `Job[]`), for completion through calls.
        public let returns: String?

        public var summary: String { text.first ?? "" }
    }

    /// An object type: its fields (with types) and the names of its methods.
    public struct ObjectClass: Sendable {
        public let name: String
        public let text: [String]
        public var fields: [(name: String, type: String, note: String)]
        public var methods: [String]
    }

    public private(set) var entries: [Entry] = []
    public private(set) var classes: [ObjectClass] = []

    /// The reference of the API this build serves.
    public static let shipped = APIReference(annotations: String(decoding: PackageResources.jobrules_lua, as: UTF8.self))

    public init(annotations: String) {
        var text: [String] = []
        var examples: [String] = []
        var params: [(String, String)] = []
        var returns: [String] = []
        var type: String?
        var openClass: Int?
        var tables: [String: String] = [:]  // `local Job = {}` → class Job
        func reset() {
            text = []
            examples = []
            params = []
            returns = []
            type = nil
        }
        for raw in annotations.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("---@class ") {
                let name = Self.plain(String(line.dropFirst(10)).firstWord)
                classes.append(ObjectClass(name: name, text: text, fields: [], methods: []))
                openClass = classes.count - 1
                reset()
            } else if line.hasPrefix("---@field ") {
                let rest = String(line.dropFirst(10))
                let name = rest.firstWord
                let (fieldType, note) = Self.splitType(String(rest.dropFirst(name.count)))
                if let c = openClass {
                    classes[c].fields.append((name.hasSuffix("?") ? String(name.dropLast()) : name, fieldType, note))
                }
            } else if line.hasPrefix("---@param ") {
                let rest = String(line.dropFirst(10))
                let name = rest.firstWord
                params.append((name, Self.splitType(String(rest.dropFirst(name.count))).type))
            } else if line.hasPrefix("---@return ") {
                let (returnType, _) = Self.splitType(String(line.dropFirst(11)))
                returns.append(returnType)
            } else if line.hasPrefix("---@type ") {
                type = Self.splitType(String(line.dropFirst(9))).type
            } else if line.hasPrefix("---@") {
                reset()
            } else if line.hasPrefix("---") {
                let body = line.dropFirst(3).trimmingCharacters(in: .whitespaces)
                if body.hasPrefix("Example: ") {
                    examples.append(String(body.dropFirst(9)))
                } else if !body.isEmpty {
                    text.append(body)
                }
            } else if line.hasPrefix("local "), line.hasSuffix("= {}"), let c = openClass {
                tables[String(line.dropFirst(6)).firstWord] = classes[c].name
                openClass = nil
            } else if line.hasPrefix("function ") {
                let header = line.dropFirst(9)
                guard let open = header.firstIndex(of: "("), let close = header.firstIndex(of: ")") else { continue }
                var name = String(header[..<open])
                if let colon = name.firstIndex(of: ":") {
                    let owner = String(name[..<colon])
                    let ownerClass = tables[owner] ?? owner
                    name = ownerClass + name[colon...]
                    if let c = classes.firstIndex(where: { $0.name == ownerClass }) {
                        classes[c].methods.append(String(name[name.index(after: colon)...]))
                    }
                }
                let names = header[header.index(after: open)..<close].split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                let documented = names.map { p in params.first { $0.0 == p || $0.0 == p + "?" } }
                let typed = zip(names, documented).map { p, doc in
                    let optional = doc?.0.hasSuffix("?") ?? false
                    return (optional ? "[" : "") + p + (doc.map { ": " + $0.1 } ?? "") + (optional ? "]" : "")
                }
                let bare = zip(names, documented).map { p, doc in (doc?.0.hasSuffix("?") ?? false) ? "[\(p)]" : p }
                let result = returns.isEmpty ? "" : " → " + returns.joined(separator: ", ")
                entries.append(
                    Entry(
                        name: name, signature: name + "(" + typed.joined(separator: ", ") + ")" + result,
                        shortSignature: name + "(" + bare.joined(separator: ", ") + ")" + result,
                        text: text, examples: examples, returns: returns.first))
                reset()
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("local "), !line.hasPrefix("-") {
                // A global value: `now = 0` (annotated with ---@type), or a namespace table `jobs = {}`.
                let name = line[..<equals].trimmingCharacters(in: .whitespaces)
                if let type, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    entries.append(
                        Entry(
                            name: name, signature: "\(name): \(type)", shortSignature: "\(name): \(type)", text: text,
                            examples: examples, returns: type))
                }
                openClass = nil
                reset()
            } else if line.isEmpty {
                openClass = nil
                reset()
            }
        }
    }

    // MARK: Lookups

    /// The entry named `name` (`jobs.get`, `Job:decline`, `now`); a bare method
    /// name (`decline`) or a lower-case type (`job:decline`) finds it too.
    public func entries(matching name: String) -> [Entry] {
        if let exact = entries.first(where: { $0.name == name }) { return [exact] }
        let lowered = name.lowercased()
        let caseless = entries.filter { $0.name.lowercased() == lowered }
        if !caseless.isEmpty { return caseless }
        return entries.filter { entry in
            guard let separator = entry.name.lastIndex(where: { $0 == ":" || $0 == "." }) else { return false }
            return entry.name[entry.name.index(after: separator)...] == name
        }
    }

    public func objectClass(_ name: String) -> ObjectClass? {
        classes.first { $0.name == name } ?? classes.first { $0.name.lowercased() == name.lowercased() }
    }

    /// The type of a field of an object type (`Job`, `merchant` → `Merchant`).
    public func fieldType(_ type: String, _ field: String) -> String? {
        objectClass(type)?.fields.first { $0.name == field }?.type
    }

    /// The result type of a function or method (`jobs.get` → `Job?`).
    public func returnType(_ name: String) -> String? {
        entries.first { $0.name == name }?.returns
    }

    // MARK: Parsing helpers

    /// Drops the `jobrules.` namespace from type names.
    static func plain(_ type: String) -> String { type.replacingOccurrences(of: "jobrules.", with: "") }

    /// Splits `TYPE rest` where TYPE may hold spaces inside brackets (`{by: …}?`, `fun(a: x): y`).
    static func splitType(_ text: String) -> (type: String, note: String) {
        let chars = Array(text.drop(while: { $0 == " " }))
        var depth = 0
        var end = 0
        while end < chars.count {
            let c = chars[end]
            if "({<[".contains(c) { depth += 1 }
            if ")}>]".contains(c) { depth -= 1 }
            if c == " " && depth == 0 && !(end > 0 && chars[end - 1] == ":") && !(end > 0 && chars[end - 1] == ",") {
                break
            }
            end += 1
        }
        let type = String(chars[..<end])
        let note = String(chars[end...]).trimmingCharacters(in: .whitespaces)
        return (plain(type), note)
    }
}

extension String {
    var firstWord: String { String(prefix { $0 != " " && $0 != "\t" }) }
}
