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
