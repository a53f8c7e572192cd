/// The compact, fixed-width identity of one item of one record, carried downstream with the item
/// and upstream with its acknowledgement.
///
/// Kinesis sequence numbers never appear in tokens: they stay inside the worker, which maps
/// `record` back to its (sequenceNumber, subSequenceNumber).
public struct Token: Hashable, Sendable, CustomStringConvertible {
    /// Index of the router the record went through (its `--index`).
    public var router: UInt16
    /// Identity of the worker connection at that router: the router's random incarnation in the
    /// high 32 bits and a per-connection counter in the low 32 bits, so acknowledgements from
    /// before a router restart can never reach a new worker.
    public var worker: UInt64
    /// The worker-local, monotonically increasing record index.
    public var record: UInt64
    /// Index of this item among the items extracted from the record.
    public var item: UInt32
    /// Number of items extracted from the record; `0` means the record yields no item.
    public var itemCount: UInt32

    /// Encoded size in bytes: 2 + 8 + 8 + 4 + 4.
    public static let encodedSize = 26

    public init(router: UInt16, worker: UInt64, record: UInt64, item: UInt32, itemCount: UInt32) {
        self.router = router
        self.worker = worker
        self.record = record
        self.item = item
        self.itemCount = itemCount
    }

    public var description: String {
        "r\(router)/w\(String(worker, radix: 16))/#\(record)[\(item)/\(itemCount)]"
    }
}

/// What happened to one item.
public enum AckStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Processed successfully.
    case ok = 0
    /// Processing failed and the item was not dead-lettered: the record stays incomplete and the
    /// worker resends it after a backoff. Its shard does not checkpoint past it.
    case failed = 1
    /// Processing failed for good and the item was written to the dead-letter sink: it counts as
    /// complete.
    case deadLettered = 2

    public var description: String {
        switch self {
        case .ok: "ok"
        case .failed: "failed"
        case .deadLettered: "dead-lettered"
        }
    }

    /// Whether the item counts towards completing its record.
    public var completesItem: Bool {
        switch self {
        case .ok, .deadLettered: true
        case .failed: false
        }
    }
}

/// One acknowledgement: a token and the item's status.
public struct Ack: Hashable, Sendable {
    public var token: Token
    public var status: AckStatus

    /// Encoded size in bytes: a token and a status byte.
    public static let encodedSize = Token.encodedSize + 1

    public init(token: Token, status: AckStatus) {
        self.token = token
        self.status = status
    }
}
