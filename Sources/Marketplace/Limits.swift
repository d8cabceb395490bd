/// The sizes and characters jobrules accepts, the same wherever a value
/// comes from: the store file, a feed of events, or a script through the Lua
/// API (what one of them accepts, the others read back).
public enum Limits {
    /// Free text: a job's title and details, a message's body, a note, an
    /// email's body, an order update. Any character.
    public static let textBytes = 1 << 20
    /// A reason (a decline's, an extension request's). Any character.
    public static let reasonBytes = 4096
    /// An id (job, order, merchant, member, contact, message, email, event)
    /// and the other one-line values: names, services, currencies, roles.
    public static let idBytes = 256
    /// An email address.
    public static let addressBytes = 254
    /// An email's subject (one line, as RFC 5322 allows).
    public static let subjectBytes = 998
    /// A tag: one word.
    public static let tagBytes = 64
    /// Tags on one job.
    public static let tagsPerObject = 100
    /// Counts and revisions: integers a JSON number carries exactly
    /// everywhere (2^53 - 1), far from where adding one overflows.
    public static let count: Int64 = (1 << 53) - 1
    /// Emails one call into Lua may add with `notify` (a rule on one item, a
    /// script, a REPL statement): a loop that sends more is a runaway.
    public static let notifiesPerCall = 10_000
    /// A script or a rule file.
    public static let scriptBytes = 16 << 20
    /// A feed of events (read whole before it is applied).
    public static let feedBytes = 1 << 30

    /// Whether `scalar` is a control character: C0, DEL or C1. One-line
    /// values hold none (a terminal may obey them); free text may.
    @inline(__always)
    public static func isControl(_ scalar: UInt32) -> Bool { scalar < 0x20 || (scalar >= 0x7F && scalar < 0xA0) }

    /// The first control character of `text`, if any (by bytes while it is ASCII).
    public static func firstControl(in text: String) -> UInt32? {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.first { $0 < 0x20 || $0 == 0x7F }.map(UInt32.init) }
        return text.unicodeScalars.first { isControl($0.value) }?.value
    }

    /// `U+001B`
    public static func describe(scalar: UInt32) -> String {
        let hex = String(scalar, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// One line of text: at most `limit` bytes and no control character;
    /// the reason when it isn't.
    public static func lineProblem(_ text: String, limit: Int = idBytes) -> String? {
        if text.utf8.count > limit { return "longer than \(limit) bytes (\(text.utf8.count))" }
        if let c = firstControl(in: text) { return "holds a control character (\(describe(scalar: c))): one line of text only" }
        return nil
    }

    /// What an email address must at least be: `local@domain`, one `@` with
    /// something on each side, no spaces or control characters, at most 254
    /// bytes (whether it is deliverable is the mail server's to judge).
    public static func isEmailAddress(_ text: String) -> Bool {
        guard text.utf8.count <= addressBytes, firstControl(in: text) == nil else { return false }
        var at = -1
        var i = 0
        var ascii = true
        for b in text.utf8 {
            if b == UInt8(ascii: "@") {
                guard at < 0 else { return false }
                at = i
            } else if b == 0x20 || b == UInt8(ascii: ",") || b == UInt8(ascii: ";") {
                return false
            } else if b >= 0x80 {
                ascii = false
            }
            i += 1
        }
        return at > 0 && at < i - 1 && (ascii || !text.unicodeScalars.contains { $0.properties.isWhitespace })
    }
}
