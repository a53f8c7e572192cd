import NIOCore

/// Flow-control credit: the receiver allows the sender that many more records (or items) and
/// bytes. Grants add up. A sender may start a new record while both counters are positive, so
/// it overshoots the byte credit by at most one record.
public struct Credit: Hashable, Sendable {
    public var count: UInt32
    public var bytes: UInt64

    public init(count: UInt32, bytes: UInt64) {
        self.count = count
        self.bytes = bytes
    }
}

extension Credit {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> Credit {
        let count = try reader.integer("count", as: UInt32.self)
        let bytes = try reader.integer("bytes", as: UInt64.self)
        try reader.expectEnd()
        return Credit(count: count, bytes: bytes)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(count)
        buffer.writeInteger(bytes)
    }
}

extension Credit {
    /// No credit.
    public static let zero = Credit(count: 0, bytes: 0)
}

extension UInt64 {
    /// `self - other`, or 0 when `other` is larger.
    @inline(__always)
    func subtractingSaturated(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
}
