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
    public var keys: [String] {
        members.map { m in
            let b = m.key.bytes
            return JSONText.decode(UnsafeRawBufferPointer(rebasing: b[1..<(b.count - 1)]), escaped: b.contains(UInt8(ascii: "\\")))
        }
    }

    public init() {}
}
