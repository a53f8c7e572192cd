import NIOCore

/// A peer further down a path went away, so records that travelled through it may never be
/// acknowledged: the worker resends every record that is not yet complete.
public struct PeerLost: Hashable, Sendable {
    public var role: PeerRole
    public var index: UInt32
    public var reason: String

    public init(role: PeerRole, index: UInt32, reason: String) {
        self.role = role
        self.index = index
        self.reason = reason
    }
}

extension PeerLost {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> PeerLost {
        let rawRole = try reader.integer("role", as: UInt8.self)
        guard let role = PeerRole(rawValue: rawRole) else {
            throw WireError(.invalidField(field: "role", reason: "unknown role \(rawRole)"))
        }
        let index = try reader.integer("index", as: UInt32.self)
        let reason = try reader.string16("reason")
        try reader.expectEnd()
        return PeerLost(role: role, index: index, reason: reason)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(role.rawValue)
        buffer.writeInteger(index)
        buffer.writeString16(reason)
    }
}
