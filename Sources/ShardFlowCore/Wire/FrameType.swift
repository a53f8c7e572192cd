/// The one-byte type that follows every frame's length field.
///
/// The catalogue, with every field, lives in `docs/wire-protocol.md`.
public enum FrameType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// First frame on every connection, in both directions: magic, version, role, identity.
    case hello = 0x01
    /// A batch of records, worker → router.
    case records = 0x02
    /// A batch of records of one worker, stamped with its token prefix, router → mapper.
    case routedRecords = 0x03
    /// A batch of items, mapper → reducer.
    case items = 0x04
    /// A batch of per-item dispositions, flowing upstream (reducer → mapper → router → worker).
    case acks = 0x05
    /// A grant of flow-control credit from a receiver to its sender.
    case credit = 0x06
    /// A peer further down the path went away: records routed through it must be resent.
    case peerLost = 0x07
    /// The sender is draining: it accepts no new data on this connection.
    case drain = 0x08
    /// A fatal error; the sender closes the connection after it.
    case error = 0x09

    public var description: String {
        switch self {
        case .hello: "HELLO"
        case .records: "RECORDS"
        case .routedRecords: "ROUTED_RECORDS"
        case .items: "ITEMS"
        case .acks: "ACKS"
        case .credit: "CREDIT"
        case .peerLost: "PEER_LOST"
        case .drain: "DRAIN"
        case .error: "ERROR"
        }
    }
}
