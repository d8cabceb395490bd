import CSystem
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// The `messages` array read on a second core while the first reads the rest.
///
/// Messages are about half of a store's bytes. In the layout jobrules writes,
/// the array starts on a line `  "messages": [`; a raw newline can't occur inside
/// a JSON string, so such a line is structure. The main reader still checks that
/// the top-level key it meets is at exactly that offset, and reads the array
/// itself (the prefetch thrown away) when it isn't — so any valid JSON file
/// gives the same result, only slower.
final class MessagesPrefetch: @unchecked Sendable {
    private let located = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    // Written by the worker before `located` (the offset) or `done` (the rest)
    // is signalled, read after.
    private var offset: Int?
    private var messages: [Message] = []
    private var messageRefs = MessageRefs()
    private var problems: [StoreProblem] = []
    private var more = false
    private var end = 0
    private var failure: JSONSyntaxError?

    /// Files smaller than this are read on one core: a thread isn't worth it.
    static let threshold = 16 << 20

    /// Starts looking for the line, and reading from it, on another core when
    /// the file is large; nil otherwise. The worker looks for the line itself:
    /// on the first core the search (and the first reads of the pages it
    /// crosses) held up the whole read.
    static func start(_ source: SourceBytes, count: Int) -> MessagesPrefetch? {
        guard count >= threshold else { return nil }
        let prefetch = MessagesPrefetch()
        let view = SourceBytes(viewOf: source)
        DispatchQueue.global().async { prefetch.read(view, count: count) }
        return prefetch
    }

    /// Offset of the `"messages"` key the worker reads from, or nil when the
    /// file has no such line (waits for the worker's search).
    var keyOffset: Int? {
        located.wait()
        located.signal()
        return offset
    }

    /// The offset of the key of the first line that starts with `line`, or nil.
    static func lineStart(_ line: StaticString, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let n = line.utf8CodeUnitCount
        var i = 0
        while i < bytes.count, let nl = memchr(base + i, 0x0A, bytes.count - i) {
            let start = UnsafeRawPointer(nl) - base + 1
            if start + n <= bytes.count, memcmp(base + start, line.utf8Start, n) == 0 { return start + 2 }
            i = start
        }
        return nil
    }

    /// The offset of the first `"messages"` followed by `:` and `[` (spaces
    /// allowed between), or nil. These bytes can't be inside a JSON string —
    /// its quotes are escaped there — so a match is a key: the top-level one
    /// in a compact file another program wrote, unless a nested object has a
    /// key of that name first (the main reader then reads the array itself).
    static func keyStart(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let key: StaticString = #""messages""#
        let n = key.utf8CodeUnitCount
        var i = 0
        while i < bytes.count, let hit = jr_memmem(base + i, bytes.count - i, key.utf8Start, n) {
            let start = UnsafeRawPointer(hit) - base
            var j = start + n
            func skipSpaces() {
                while j < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[j]) { j += 1 }
            }
            skipSpaces()
            if j < bytes.count, bytes[j] == UInt8(ascii: ":") {
                j += 1
                skipSpaces()
                if j < bytes.count, bytes[j] == UInt8(ascii: "[") { return start }
            }
            i = start + 1
        }
        return nil
    }

    private func read(_ source: SourceBytes, count: Int) {
        defer { done.signal() }
        let bytes = UnsafeRawBufferPointer(rebasing: source.buffer[0..<count])
        // The layout jobrules writes, else a compact one (one line, or another program's spacing).
        offset = Self.lineStart(#"  "messages": ["#, in: bytes) ?? Self.keyStart(in: bytes)
        located.signal()
        guard let keyOffset = offset else { return }
        var d = StoreDecoder(source: source, count: count)
        d.r.pos = keyOffset
        var draft = StoreDraft()
        // Room for as many messages as the rest of the file could hold, reserved
        // once: growing the arrays by doubling copied them and touched twice
        // their memory. Reserved pages that are never written cost nothing.
        let most = (count - keyOffset) / StoreDraft.smallestMessage
        draft.messages.reserveCapacity(most)
        do {
            _ = try d.r.string()
            try d.r.expect(UInt8(ascii: ":"), "':' after an object key")
            d.path = [.key("messages")]
            try d.array { (d: inout StoreDecoder, _) throws(JSONSyntaxError) in try d.message(into: &draft) }
        } catch {
            failure = error
            return
        }
        messages = draft.messages
        messageRefs = draft.messageRefs
        problems = d.problems
        more = d.moreProblems
        end = d.r.pos
    }

    /// Waits for the worker and hands its result to `d` and `draft`, continuing after the array.
    func take(into d: inout StoreDecoder, _ draft: inout StoreDraft) throws(JSONSyntaxError) {
        done.wait()
        if let failure { throw failure }
        draft.messages = messages
        draft.messageRefs = messageRefs
        messages = []
        messageRefs = MessageRefs()
        for p in problems { d.problem(p) }
        if more { d.moreProblems = true }
        d.r.pos = end
    }

    /// Waits for a prefetch that turned out not to be needed.
    func discard() { done.wait() }
}
