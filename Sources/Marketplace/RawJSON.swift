/// JSON text exactly as it was read: an object's bytes while it is unchanged,
/// or the value of a field jobrules doesn't know, kept so saving loses nothing.
public struct RawJSON: Sendable {
    let source: SourceBytes
    let span: SourceSpan

    var bytes: UnsafeRawBufferPointer { source[span] }
}

/// Members of an object that jobrules doesn't know, in their order, written back on save.
public struct Extras: Sendable {
    struct Member: Sendable {
        let key: RawJSON  // the key literal, quotes included
        let value: RawJSON
    }

    var members: [Member] = []

    public var isEmpty: Bool { members.isEmpty }
    public init() {}
}

// Spans (`raw`) point into the file the store read, and only that store has
// its bytes: an object given to another store (built or added) loses them and
// is written from its fields. Unknown fields (`Extras`) carry their own bytes.
extension Member { mutating func detach() { raw = nil } }
extension Merchant { mutating func detach() { raw = nil } }
extension Contact { mutating func detach() { raw = nil } }
extension Message { mutating func detach() { raw = nil } }
extension OutboxEntry { mutating func detach() { raw = nil } }

extension Agency {
    mutating func detach() {
        for i in services.indices { services[i].raw = nil }
    }
}

extension Job {
    mutating func detach() {
        raw = nil
        budget?.raw = nil
        priorities?.raw = nil
        lifecycle.detach()
        for i in notes.indices { notes[i].raw = nil }
    }
}

extension Order {
    mutating func detach() {
        raw = nil
        canceled?.raw = nil
        for i in extensionRequests.indices { extensionRequests[i].raw = nil }
        for i in updates.indices { updates[i].raw = nil }
    }
}
