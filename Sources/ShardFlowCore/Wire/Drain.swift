import NIOCore

/// The sender is shutting down gracefully: it accepts no new data on this connection but still
/// delivers acknowledgements for what it already holds.
public struct Drain: Hashable, Sendable {
    public var reason: String

    public init(reason: String) { self.reason = reason }
}

extension Drain {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> Drain {
        let reason = try reader.string16("reason")
        try reader.expectEnd()
        return Drain(reason: reason)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeString16(reason)
    }
}
