import Marketplace

/// Changes grouped per object, in the order objects were first touched, as
/// net changes: what `run --dry-run` prints and the REPL's `:diff` shows.
/// The audit log keeps every step; a plan shows per field the value before
/// and after the whole batch, with every actor that took part.
public struct Plan: Sendable {
    /// One field's change over the batch.
    public struct NetChange: Sendable {
        public let field: String
        /// For a list field (`Change.listFields`), one element: added (`old`
        /// null) or removed (`new` null).
        public let old: ChangeValue
        public let new: ChangeValue
        /// Who took part, in order of first appearance.
        public let actors: [String]
    }

    public struct Entry: Sendable {
        public let kind: String
        public let object: String
        /// The object was created (a message, an email).
        public let created: Bool
        public var changes: [NetChange]
    }

    public private(set) var entries: [Entry] = []
    /// Steps applied (each an audit log line).
    public let changeCount: Int
    /// Net changes shown.
    public var netCount: Int { entries.reduce(0) { $0 + $1.changes.count } }

    public init(_ changes: [Change]) {
        changeCount = changes.count
        /// Per object, its fields (or list elements) in order of first change.
        struct Accumulator {
            var kind: String
            var object: String
            var created = false
            var keys: [String] = []
            var fields: [String: (field: String, old: ChangeValue, new: ChangeValue, balance: Int, actors: [String])] = [:]
        }
        var objects: [Accumulator] = []
        var position: [String: Int] = [:]
        for change in changes {
            let objectKey = change.kind + "\u{0}" + change.object
            let k: Int
            if let found = position[objectKey] {
                k = found
            } else {
                k = objects.count
                position[objectKey] = k
                objects.append(Accumulator(kind: change.kind, object: change.object, created: change.field == "created"))
            }
            let isList = Change.listFields.contains(change.field) && (change.old == .null) != (change.new == .null)
            // A list element is its own change: added then removed is no change.
            let element = isList ? (change.old == .null ? change.new : change.old) : .null
            let key = isList ? change.field + "\u{0}" + element.description : change.field
            if var net = objects[k].fields[key] {
                net.new = change.new
                if isList { net.balance += change.old == .null ? 1 : -1 }
                if !net.actors.contains(change.actor) { net.actors.append(change.actor) }
                objects[k].fields[key] = net
            } else {
                objects[k].keys.append(key)
                objects[k].fields[key] = (
                    change.field, isList ? element : change.old, change.new, isList ? (change.old == .null ? 1 : -1) : 0,
                    [change.actor]
                )
            }
        }
        for object in objects {
            var entry = Entry(kind: object.kind, object: object.object, created: object.created, changes: [])
            for key in object.keys {
                guard let net = object.fields[key] else { continue }
                if Change.listFields.contains(net.field), key.contains("\u{0}") {
                    // Equal elements count: a note added twice is two notes.
                    let added = net.balance > 0
                    for _ in 0..<net.balance.magnitude {
                        entry.changes.append(NetChange(
                            field: net.field, old: added ? .null : net.old, new: added ? net.old : .null, actors: net.actors))
                    }
                } else {
                    guard net.old != net.new else { continue }
                    entry.changes.append(NetChange(field: net.field, old: net.old, new: net.new, actors: net.actors))
                }
            }
            if !entry.changes.isEmpty { entries.append(entry) }
        }
    }

    /// Terraform-like text: `~` for a changed object, `+` for a new one; each
    /// change as `field: old → new`, with the actors that made it (on the
    /// object's line when the same made all of its changes). Texts (an
    /// email's body, a message, a reason) are shown whole, wrapped.
    public func text(style: TextStyle = .plain, valueWidth: Int = 100) -> String {
        guard !entries.isEmpty else { return "No changes.\n" }
        var out = ""
        for entry in entries {
            let subject = (entry.kind == entry.object ? entry.kind : "\(entry.kind) \(entry.object)").terminalSafe()
            let actors = entry.changes.map(\.actors)
            let oneActor = actors.allSatisfy { $0 == actors[0] }
            let header = oneActor ? "  " + style.dim("(\(Self.names(actors[0])))") : ""
            if entry.created, entry.changes.count == 1, let change = entry.changes.first {
                out += "  " + style.added("+ \(subject)") + header + "\n"
                out += Self.members(change.new, indent: 6, width: valueWidth)
                continue
            }
            out += "  " + style.changed("~ \(subject)") + header + "\n"
            let width = entry.changes.map(\.field.count).max() ?? 0
            for change in entry.changes {
                let actor = oneActor ? "" : "  " + style.dim("(\(Self.names(change.actors)))")
                let field = "      " + (change.field.terminalSafe() + ":").padded(width + 1) + " "
                let isList = Change.listFields.contains(change.field) && (change.old == .null) != (change.new == .null)
                let element = change.old == .null ? change.new : change.old
                if case .object = element, change.old == .null || isList {
                    // Something added (a note, a decline, a request) or a list element removed: its members, one per line.
                    let sign = change.old == .null ? style.added("+") : style.removed("-")
                    out += field + sign + actor + "\n" + Self.members(element, indent: 10, width: valueWidth)
                    continue
                }
                if isList {
                    let added = change.old == .null
                    let value = Self.clip(element.description, valueWidth).terminalSafe()
                    out += field + (added ? style.added("+ " + value) : style.removed("- " + value)) + actor + "\n"
                    continue
                }
                if Self.isText(change.old, valueWidth / 2) || Self.isText(change.new, valueWidth) {
                    out += field.trimmingTrailingSpaces() + actor + "\n"
                    out += Self.block(change.old, lead: "        ", marker: style.removed("-"))
                    out += Self.block(change.new, lead: "        ", marker: style.added("+"))
                    continue
                }
                out += field + style.removed(change.old.description.terminalSafe()) + " → "
                    + style.added(change.new.description.terminalSafe()) + actor + "\n"
            }
        }
        return out
    }

    static func names(_ actors: [String]) -> String { actors.map { $0.terminalSafe() }.joined(separator: ", ") }

    /// Whether a value is a text to show as a block: a string with lines, or longer than `width`.
    static func isText(_ value: ChangeValue, _ width: Int) -> Bool {
        guard case .string(let s) = value else { return false }
        return s.contains("\n") || s.count > width
    }

    /// A value on lines of its own, each line `lead` (spaces on all but the
    /// first) and `marker`: a string as its text wrapped at 76 columns,
    /// anything else as JSON.
    static func block(_ value: ChangeValue, lead: String, marker: String) -> String {
        guard case .string(let text) = value else { return lead + marker + " " + value.description.terminalSafe() + "\n" }
        let margin = String(repeating: " ", count: lead.count)
        var out = ""
        var lines = wrap(text, width: 76)
        if lines.count > 1, lines.last == "" { lines.removeLast() }  // the text's final newline
        for (n, line) in lines.enumerated() {
            out += ((n == 0 ? lead : margin) + marker + " " + line.terminalSafe()).trimmingTrailingSpaces() + "\n"
        }
        return out
    }

    /// `text`'s lines, each cut at spaces to at most `width` characters (a
    /// longer word on a line of its own, cut where it must be).
    static func wrap(_ text: String, width: Int) -> [String] {
        // Lengths are counted as the text goes: a long text costs in proportion to its length.
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var length = 0
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: false) {
                let wordLength = word.count
                if line.isEmpty {
                    line = String(word)
                    length = wordLength
                } else if length + 1 + wordLength <= width {
                    line += " "
                    line += word
                    length += 1 + wordLength
                } else {
                    lines.append(line)
                    line = String(word)
                    length = wordLength
                }
                if length > width {
                    var rest = Substring(line)
                    while length > width {
                        let cut = rest.index(rest.startIndex, offsetBy: width)
                        lines.append(String(rest[..<cut]))
                        rest = rest[cut...]
                        length -= width
                    }
                    line = String(rest)
                }
            }
            lines.append(line)
        }
        return lines
    }

    /// An object's non-null members as `key value` lines; texts whole, wrapped under their key.
    static func members(_ value: ChangeValue, indent: Int, width: Int) -> String {
        guard case .object(let members) = value else {
            return String(repeating: " ", count: indent) + value.description.terminalSafe() + "\n"
        }
        let shown = members.filter { $0.1 != .null }
        let keyWidth = shown.map(\.0.count).max() ?? 0
        var out = ""
        for (key, value) in shown {
            let lead = String(repeating: " ", count: indent) + key.terminalSafe().padded(keyWidth) + "  "
            if isText(value, width) || key == "body" {
                out += block(value, lead: lead, marker: "│")
            } else {
                out += lead + value.description.terminalSafe() + "\n"
            }
        }
        return out
    }

    /// The plan as JSON: `[{"kind", "object", "created", "changes": [{"field", "old", "new", "actors"}]}]`.
    public var json: ChangeValue {
        .array(
            entries.map { entry in
                .object([
                    ("kind", .string(entry.kind)), ("object", .string(entry.object)), ("created", .bool(entry.created)),
                    (
                        "changes",
                        .array(
                            entry.changes.map { c in
                                .object([("field", .string(c.field)), ("old", c.old), ("new", c.new), ("actors", .strings(c.actors))])
                            })
                    ),
                ])
            })
    }

    static func clip(_ text: String, _ width: Int) -> String {
        let width = max(width, 12)
        guard text.count > width else { return text }
        return String(text.prefix(width - 1)) + "…"
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}

/// Colour for terminal output, or none.
public struct TextStyle: Sendable {
    public let color: Bool

    public init(color: Bool) { self.color = color }
    public static let plain = TextStyle(color: false)

    /// `text` in colour `code` (when on); either way its own control
    /// characters escaped, so that no data shown in a style can carry some.
    func wrap(_ text: String, _ code: String) -> String {
        let text = text.terminalSafe(keepingLines: true)
        return color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
    public func added(_ text: String) -> String { wrap(text, "32") }
    public func removed(_ text: String) -> String { wrap(text, "31") }
    public func changed(_ text: String) -> String { wrap(text, "33") }
    public func dim(_ text: String) -> String { wrap(text, "2") }
    public func bold(_ text: String) -> String { wrap(text, "1") }
    public func error(_ text: String) -> String { wrap(text, "1;31") }
}

extension String {
    /// Left-aligned in `width` characters.
    public func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// Right-aligned in `width` characters.
    public func rightAligned(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
