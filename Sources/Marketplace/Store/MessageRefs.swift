#if canImport(Glibc)
import Glibc
#endif

/// What `resolve` checks of the messages (unique ids, known jobs and authors),
/// gathered as each message is read, on whichever core reads the messages.
///
/// Why here: a large store holds hundreds of thousands of messages. Checked
/// after reading, on the one core that then resolves everything, each check
/// read the message's bytes in the file again, long out of the cache.
struct MessageRefs {
    /// Each run of messages with the same job reference (messages come
    /// grouped by job): the index of its first message and the reference.
    private(set) var jobRuns: [(first: Int, job: String)] = []
    private var lastJob: StringToken?
    /// Each member who wrote a message, once, with the index of the first.
    private(set) var authors: [String: Int] = [:]
    private var lastAuthor: String?
    /// The usual ids `msg<N>` are checked in a bitmap (hashing each into a
    /// set was a tenth of the load time), the others in a set.
    private var seenNumbers: [UInt64] = []
    private var otherIDs = Set<String>()
    /// Each id met before, with the index of the message that repeats it.
    private(set) var duplicates: [(index: Int, id: String)] = []
    /// Above every `msg<N>`: the number of the next new message's id.
    private(set) var nextNumber = 1

    /// Notes message `index`; `bytes` is the input its tokens point into.
    mutating func add(
        _ index: Int, id: (token: StringToken, string: String), job: StringToken, from: MessageAuthor,
        in bytes: UnsafeRawBufferPointer
    ) {
        let base = bytes.baseAddress.unsafelyUnwrapped
        let sameRun = lastJob.map { job.hasSameBytes(as: $0, in: base) } ?? false
        if !sameRun {
            let ref = UnsafeRawBufferPointer(start: base + job.start, count: job.count)
            jobRuns.append((index, JSONText.decode(ref, escaped: job.escaped)))
        }
        lastJob = job

        if case .member(let member) = from, member != lastAuthor {
            if authors[member] == nil { authors[member] = index }
            lastAuthor = member
        }

        let duplicate: Bool
        if !id.token.escaped, let n = Self.canonicalNumber(UnsafeRawBufferPointer(start: base + id.token.start, count: id.token.count)) {
            nextNumber = max(nextNumber, n + 1)
            let word = n >> 6
            if word >= seenNumbers.count {
                seenNumbers.append(contentsOf: repeatElement(0, count: word - seenNumbers.count + 1 + word / 2))
            }
            let bit: UInt64 = 1 << UInt64(n & 63)
            duplicate = seenNumbers[word] & bit != 0
            seenNumbers[word] |= bit
        } else {
            nextNumber = max(nextNumber, Store.number(in: id.string, after: "msg") + 1)
            duplicate = !otherIDs.insert(id.string).inserted
        }
        if duplicate { duplicates.append((index, id.string)) }
    }

    /// N of an id `msg<N>` (no leading zero, N below 2^26), else nil.
    static func canonicalNumber(_ b: UnsafeRawBufferPointer) -> Int? {
        guard b.count > 3, b.count <= 10, b[0] == UInt8(ascii: "m"), b[1] == UInt8(ascii: "s"), b[2] == UInt8(ascii: "g"),
            b[3] != UInt8(ascii: "0")
        else { return nil }
        var n = 0
        for k in 3..<b.count {
            let digit = b[k] &- 48
            guard digit < 10 else { return nil }
            n = n * 10 + Int(digit)
        }
        return n
    }
}
