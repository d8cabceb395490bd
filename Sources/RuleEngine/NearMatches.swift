import Marketplace

/// "Did you mean" for ids: the known ids nearest to one that was not found.
/// Written here: a few lines of edit distance over short strings, where no
/// library of the machine's would be worth its dependency.
enum NearMatches {
    /// ` (did you mean "mer1" (Maple Goods)?)`, or the known ids when none is near; "" when there are none.
    static func hint(_ given: String, among known: [(id: String, name: String)], noun: String) -> String {
        guard !known.isEmpty else { return " (the store has no \(noun)s)" }
        let wanted = given.lowercased()
        var scored: [(score: Int, id: String, name: String)] = []
        var seen = Set<String>()
        for (id, name) in known where seen.insert(id).inserted {
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

    /// Levenshtein distance, on characters.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
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
