import NIOCore

/// A frame a state machine asks the I/O layer to send: the one outbound frame type of every
/// role. Batch payloads travel as the bytes they already are (a worker's stored records, a
/// router's forwarded batch, a mapper's encoded items), so sending them copies nothing more
/// than the socket write does.
public enum OutboundFrame: Hashable, Sendable {
    case hello(Hello)
    case credit(Credit)
    /// RECORDS: these records, already in wire layout, sent in resend `epoch`.
    case records(epoch: UInt32, RecordBatch)
    /// ROUTED_RECORDS.
    case routedRecords(RoutedRecordBatch)
    /// ITEMS: `count` items already in wire layout, back to back.
    case items(count: Int, bytes: ByteBuffer)
    /// ACKS: these acknowledgements, in wire layout.
    case acks(AckBatch)
    case peerLost(PeerLost)
    case drain(Drain)
    case error(ErrorFrame)

    public var type: FrameType {
        switch self {
        case .hello: .hello
        case .credit: .credit
        case .records: .records
        case .routedRecords: .routedRecords
        case .items: .items
        case .acks: .acks
        case .peerLost: .peerLost
        case .drain: .drain
        case .error: .error
        }
    }
}
