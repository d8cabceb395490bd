import LuaHost
import RuleEngine

extension REPL {
    /// `:help` (everything, a line each) and `:help NAME` (one name, in full).
    func help(_ name: String) {
        let reference = APIReference.shipped
        guard !name.isEmpty else { return say(helpText(reference)) }
        let key = name.hasPrefix(":") ? String(name.dropFirst()) : name
        if let command = Self.commands.first(where: { $0.name == key }) {
            return say(style.bold(":\(command.name) \(command.arguments)") + "\n  \(command.summary)\n")
        }
        if let type = reference.objectClass(key) { return say(help(type)) }
        var entries = reference.entries(matching: key)
        if entries.isEmpty, let field = Self.globalField(key, reference) { entries = [field] }
        guard !entries.isEmpty else {
            return warn("no help for '\(name)': :help lists every name (e.g. :help jobs.where, :help Job, :help decline)")
        }
        var out = ""
        for entry in entries {
            out += style.bold(entry.signature) + "\n"
            for line in entry.text { out += "  " + line + "\n" }
            for example in entry.examples { out += "  Example: " + example + "\n" }
        }
        say(out)
    }

    /// `agency.offers`: a field of a global object, as an entry.
    static func globalField(_ name: String, _ reference: APIReference) -> APIReference.Entry? {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let type = reference.returnType(parts[0]),
            let field = reference.objectClass(type)?.fields.first(where: { $0.name == parts[1] })
        else { return nil }
        return APIReference.Entry(
            name: name, signature: "\(name): \(field.type)", shortSignature: name, text: field.note.isEmpty ? [] : [field.note],
            examples: [], returns: field.type)
    }

    func help(_ type: APIReference.ObjectClass) -> String {
        var out = style.bold(type.name) + "\n"
        for line in type.text { out += "  " + line + "\n" }
        let width = type.fields.map(\.name.count).max() ?? 0
        if !type.fields.isEmpty { out += "fields:\n" }
        for field in type.fields {
            out += "  " + field.name.padded(width) + "  " + field.type + (field.note.isEmpty ? "" : "  " + style.dim(field.note)) + "\n"
        }
        if !type.methods.isEmpty {
            out += "methods (:help \(type.name):NAME):\n"
            for entry in APIReference.shipped.entries where entry.name.hasPrefix(type.name + ":") {
                out += "  " + entry.shortSignature + (entry.summary.isEmpty ? "" : "  " + style.dim(entry.summary)) + "\n"
            }
        }
        return out
    }

    func helpText(_ reference: APIReference) -> String {
        var out = style.bold("Commands") + "\n"
        let commandWidth = Self.commands.map { $0.name.count + $0.arguments.count + 2 }.max() ?? 0
        for c in Self.commands {
            out += "  " + ":\(c.name) \(c.arguments)".padded(commandWidth) + "  " + c.summary + "\n"
        }
        out += "  Anything else is Lua: an expression prints its value (`=expr` too), a statement runs.\n"
        out += "\n" + style.bold("Lua API") + " (:help NAME for one, with an example)\n"
        let width = min(44, reference.entries.map(\.shortSignature.count).max() ?? 0)
        for entry in reference.entries {
            let signature = entry.shortSignature.padded(width)
            out += "  " + signature + (entry.summary.isEmpty ? "" : "  " + style.dim(entry.summary)) + "\n"
        }
        out += "\n" + style.bold("Objects") + " (:help TYPE for their fields)\n"
        for type in reference.classes where lua.objectInfo(typeName: type.name) != nil {
            out += "  " + type.name.padded(10) + style.dim(type.fields.map(\.name).joined(separator: " ")) + "\n"
        }
        let others = reference.classes.filter { lua.objectInfo(typeName: $0.name) == nil }.map(\.name)
        if !others.isEmpty { out += "  Tables: " + others.joined(separator: ", ") + "\n" }
        return out
    }
}
