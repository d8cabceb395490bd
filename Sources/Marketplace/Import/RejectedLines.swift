#if canImport(Glibc)
    import Glibc
#endif

/// The lines of a feed that were refused, as a feed of their own (`import
/// --reject-to`). Each record keeps the refused line's text exactly, with why
/// and where it was refused:
///
///     {"rejected": {"feed": "hourly.jsonl", "line": 4, "at": "…", "reason": "…"}, "text": "{\"event\": …}"}
///
/// Fed back to `import`, a record reads as the line it keeps, so the event
/// has the id and the digest it had: applied once, skipped as a replay after.
public enum RejectedLines {
    /// The records of the lines of `bytes` (a feed as read) that `problems` name, in line order.
    /// A line whose text is in `known` (`texts(ofRecords:)` of the reject
    /// file so far) is left out: a feed imported again adds nothing twice.
    public static func records(
        of bytes: UnsafeRawBufferPointer, problems: [ImportProblem], feed: String, at: UnixTime, known: Set<String> = []
    ) -> [UInt8] {
        var reasons: [Int: [String]] = [:]
        for problem in problems { reasons[problem.line, default: []].append(problem.message) }
        guard !reasons.isEmpty else { return [] }
        var out: [UInt8] = []
        var start = 0
        var line = 1
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            if let why = reasons[line] {
                var textEnd = end
                if textEnd > start, bytes[textEnd - 1] == UInt8(ascii: "\r") { textEnd -= 1 }
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<textEnd])
                let (text, altered) = originalText(raw)
                if altered == nil, known.contains(text) {
                    start = end + 1
                    line += 1
                    continue
                }
                var members: [(String, ChangeValue)] = [
                    ("rejected", .object([
                        ("feed", .string(feed)), ("line", .int(Int64(line))), ("at", .string(RFC3339.format(at))),
                        ("reason", .string(why.joined(separator: "; "))),
                    ])),
                    ("text", .string(text)),
                ]
                // JSON can't hold bytes that aren't UTF-8: the record says its text isn't the line, and
                // is refused when fed back until someone corrects it (never applied changed, unnoticed).
                if let altered { members.append(("altered", .string(altered))) }
                let record = ChangeValue.object(members)
                out += Array(record.description.utf8)
                out.append(UInt8(ascii: "\n"))
            }
            start = end + 1
            line += 1
        }
        return out
    }

    /// The refused lines' texts that the records of a reject file keep.
    public static func texts(ofRecords bytes: UnsafeRawBufferPointer) -> Set<String> {
        var texts = Set<String>()
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            // A record whose text was altered stands for no line exactly: it matches none.
            if end > start, case let (text, nil) = originalText(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
                texts.insert(text)
            }
            start = end + 1
        }
        return texts
    }

    /// The text a refused line stands for: its own, or, for a record of a
    /// reject file fed back, the line that record keeps.
    /// Also says why that text is not exactly the line, when it can't be.
    static func originalText(_ raw: UnsafeRawBufferPointer) -> (String, altered: String?) {
        let source = SourceBytes.copying(Array(raw))
        var d = StoreDecoder(source: source, count: raw.count)
        if let fields = try? d.eventFields(), fields.isRejectRecord, let text = fields.rejectedText { return (text, fields.altered) }
        if let text = String(validating: raw, as: UTF8.self) { return (text, nil) }
        return (String(decoding: raw, as: UTF8.self), "the line was not valid UTF-8: its invalid bytes are U+FFFD here")
    }
}
