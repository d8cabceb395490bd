import Marketplace

/// Changes grouped per object, in the order objects were first touched: what
/// `run --dry-run` prints and the REPL's `:diff` shows.
public struct Plan: Sendable {
    public struct Entry: Sendable {
        public let kind: String
        public let object: String
        /// The object was created (a message, an email).
        public let created: Bool
        public var changes: [Change]
    }

    public private(set) var entries: [Entry] = []
    public let changeCount: Int

    public init(_ changes: [Change]) {
        changeCount = changes.count
        var position: [String: Int] = [:]
        for change in changes {
            let key = change.kind + "\u{0}" + change.object
            if let k = position[key] {
                entries[k].changes.append(change)
            } else {
                position[key] = entries.count
                entries.append(
                    Entry(kind: change.kind, object: change.object, created: change.field == "created", changes: [change]))
            }
        }
    }

    /// Terraform-like text: `~` for a changed object, `+` for a new one; each
    /// change as `field: old → new`, with the actor that made it (on the
    /// object's line when one actor made all of its changes).
    public func text(style: TextStyle = .plain, valueWidth: Int = 100) -> String {
        guard !entries.isEmpty else { return "No changes.\n" }
        var out = ""
        for entry in entries {
            let subject = (entry.kind == entry.object ? entry.kind : "\(entry.kind) \(entry.object)").terminalSafe()
            let actors = entry.changes.map(\.actor)
            let oneActor = actors.allSatisfy { $0 == actors[0] }
            let header = oneActor ? "  " + style.dim("(\(actors[0].terminalSafe()))") : ""
            if entry.created, entry.changes.count == 1, let change = entry.changes.first {
                out += "  " + style.added("+ \(subject)") + header + "\n"
                out += Self.members(change.new, indent: 6, width: valueWidth)
                continue
            }
            out += "  " + style.changed("~ \(subject)") + header + "\n"
            let width = entry.changes.map(\.field.count).max() ?? 0
            for change in entry.changes {
                let actor = oneActor ? "" : "  " + style.dim("(\(change.actor.terminalSafe()))")
                let field = "      " + (change.field.terminalSafe() + ":").padded(width + 1) + " "
                if change.old == .null, case .object = change.new {
                    // Something added (a note, a decline, a request): its members, one per line.
                    out += field + style.added("+") + actor + "\n" + Self.members(change.new, indent: 10, width: valueWidth)
                    continue
                }
                if Change.listFields.contains(change.field), change.old == .null || change.new == .null {
                    // An element added to a list, or removed from it.
                    let added = change.old == .null
                    let value = Self.clip((added ? change.new : change.old).description, valueWidth).terminalSafe()
                    out += field + (added ? style.added("+ " + value) : style.removed("- " + value)) + actor + "\n"
                    continue
                }
                let old = Self.clip(change.old.description, valueWidth / 2).terminalSafe()
                let new = Self.clip(change.new.description, valueWidth).terminalSafe()
                out += field + style.removed(old) + " → " + style.added(new) + actor + "\n"
            }
        }
        return out
    }

    /// An object's non-null members as `key value` lines.
    static func members(_ value: ChangeValue, indent: Int, width: Int) -> String {
        guard case .object(let members) = value else {
            return String(repeating: " ", count: indent) + value.description.terminalSafe() + "\n"
        }
        let shown = members.filter { $0.1 != .null }
        let keyWidth = shown.map(\.0.count).max() ?? 0
        var out = ""
        for (key, value) in shown {
            out += String(repeating: " ", count: indent) + key.terminalSafe().padded(keyWidth) + "  " + clip(value.description, width).terminalSafe() + "\n"
        }
        return out
    }

    /// The plan as JSON: `[{"kind", "object", "changes": [{"field", "old", "new", "actor"}]}]`.
    public var json: ChangeValue {
        .array(
            entries.map { entry in
                .object([
                    ("kind", .string(entry.kind)), ("object", .string(entry.object)), ("created", .bool(entry.created)),
                    (
                        "changes",
                        .array(
                            entry.changes.map { c in
                                .object([("field", .string(c.field)), ("old", c.old), ("new", c.new), ("actor", .string(c.actor))])
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
