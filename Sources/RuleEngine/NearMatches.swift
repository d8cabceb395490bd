import Marketplace

/// "Did you mean" for ids: the known ids nearest to one that was not found.
/// Written here: a few lines of edit distance over short strings, where no
/// library of the machine's would be worth its dependency.
enum NearMatches {
    /// ` (did you mean "mer1" (Maple Goods)?)`, or the known ids when none is near; "" when there are none.
    static func hint(_ given: String, among known: [(id: String, name: String)], noun: String) -> String {
        guard !known.isEmpty else { return " (the store has no \(noun)s)" }
        // A string past `longest` is near nothing: its length alone says so (a byte count is free).
        let comparable = given.utf8.count <= longest * 4 && given.count <= longest
        let wanted = comparable ? given.lowercased() : ""
        var scored: [(score: Int, id: String, name: String)] = []
        var seen = Set<String>()
        for (id, name) in known where comparable && seen.insert(id).inserted {
            let byID = distance(wanted, id.lowercased())
            let byName = name == id ? byID : distance(wanted, name.lowercased())
            var score = min(byID, byName)
            // A name given where an id goes, or part of a name.
            if name.lowercased() == wanted { score = 0 } else if wanted.count >= 3, name.lowercased().contains(wanted) { score = min(score, 1) }
            if score <= max(1, wanted.count / 3) { scored.append((score, id, name)) }
        }
        let describe = { (id: String, name: String) in
            name == id ? ChangeValue.string(id).description : "\(ChangeValue.string(id)) (\(name))"
        }
        if scored.isEmpty {
            let some = known.prefix(8).map { describe($0.id, $0.name) }.joined(separator: ", ")
            return " (\(noun)s are named by id: \(some)\(known.count > 8 ? ", …" : ""))"
        }
        scored.sort { ($0.score, $0.id) < ($1.score, $1.id) }
        return " (did you mean \(scored.prefix(3).map { describe($0.id, $0.name) }.joined(separator: " or "))?)"
    }

    /// An id as a message shows it: quoted, and cut when it is long.
    static func quoted(_ id: String) -> String {
        guard id.utf8.count > longest * 4 else { return ChangeValue.string(id).description }
        return ChangeValue.string(String(id.prefix(longest))).description.dropLast() + "…\" (\(id.utf8.count) bytes)"
    }

    /// Past this many characters, a string is near nothing: the distance
    /// takes the product of the lengths, and runs in the host, past the
    /// reach of the script's time limit.
    static let longest = 64

    /// Levenshtein distance, on characters (`Int.max` for a string longer than `longest`).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard a.count <= longest, b.count <= longest else { return a == b ? 0 : Int.max }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
