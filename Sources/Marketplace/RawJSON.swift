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
