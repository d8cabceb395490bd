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
    public static func records(of bytes: UnsafeRawBufferPointer, problems: [ImportProblem], feed: String, at: UnixTime) -> [UInt8] {
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
                let record = ChangeValue.object([
                    ("rejected", .object([
                        ("feed", .string(feed)), ("line", .int(Int64(line))), ("at", .string(RFC3339.format(at))),
                        ("reason", .string(why.joined(separator: "; "))),
                    ])),
                    ("text", .string(originalText(raw))),
                ])
                out += Array(record.description.utf8)
                out.append(UInt8(ascii: "\n"))
            }
            start = end + 1
            line += 1
        }
        return out
    }

    /// The text a refused line stands for: its own, or, for a record of a
    /// reject file fed back, the line that record keeps.
    static func originalText(_ raw: UnsafeRawBufferPointer) -> String {
        let source = SourceBytes.copying(Array(raw))
        var d = StoreDecoder(source: source, count: raw.count)
        if let fields = try? d.eventFields(), fields.has(.rejected), let text = fields.rejectedText { return text }
        return String(decoding: raw, as: UTF8.self)
    }
}
