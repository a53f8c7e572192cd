import NIOCore

/// Processes the items a reducer receives, one batch at a time.
///
/// The reducer calls ``process(_:)`` on a dedicated thread (never on its I/O event loop), so an
/// implementation may block, do CPU work or call out synchronously. Batches arrive one after
/// another, never concurrently, in the order their items reached the reducer; items with the
/// same key are always in the same reducer.
///
/// Return which items failed; throwing fails the whole batch. Failed items are retried with
/// backoff, then dead-lettered or reported failed to their worker, per the reducer's options.
public protocol BatchProcessor: AnyObject {
    func process(_ items: [ProcessorItem]) throws -> BatchResult
    /// Called once when the reducer stops (flush and release resources).
    func close() throws
}

extension BatchProcessor {
    public func close() throws {}
}

/// Which items of a batch failed, by position in the batch, and why.
public struct BatchResult: Sendable, Hashable {
    public var failures: [Int: String]

    public init(failures: [Int: String] = [:]) {
        self.failures = failures
    }

    /// Every item succeeded.
    public static let success = BatchResult()
}

/// One item, as a processor sees it.
public struct ProcessorItem: Sendable, Hashable {
    /// The item as it arrived from the mapper.
    public let wire: WireItem

    public init(_ wire: WireItem) { self.wire = wire }

    public var shardId: String { String(buffer: wire.shardId) }
    public var sequenceNumber: String { String(buffer: wire.sequenceNumber) }
    public var subSequenceNumber: Int64? { wire.subSequenceNumber.map { Int64(bitPattern: $0) } }
    /// `approximateArrivalTimestamp` of the record, epoch milliseconds.
    public var arrivalTimestamp: Int64? { wire.arrivalTimestamp }
    /// Position of this item among the items of its record.
    public var itemIndex: Int { Int(wire.token.item) }
    /// Number of items extracted from the record.
    public var itemCount: Int { Int(wire.token.itemCount) }
    /// The item's own partition key.
    public var partitionKey: String? { wire.partitionKey.map { String(buffer: $0) } }
    /// The key the item was partitioned by.
    public var key: String { String(buffer: wire.key) }
    /// The item's bytes.
    public var data: ByteBuffer { wire.data }
    /// The item's bytes as an array.
    public var bytes: [UInt8] { Array(wire.data.readableBytesView) }
}

/// The JSON object ShardFlow writes for an item (jsonl output, exec input, dead letters):
/// `shardId`, `sequenceNumber`, `subSequenceNumber`, `itemIndex`, `itemCount`, `partitionKey`,
/// `key`, `approximateArrivalTimestamp` and `data` (base64), plus any `extra` fields.
enum ItemJSON {
    static func write(_ item: WireItem, into json: inout JSONWriter, extra: (inout JSONWriter) -> Void = { _ in }) {
        json.beginObject()
        json.key("shardId")
        json.string(bytes: item.shardId.readableBytesView)
        json.key("sequenceNumber")
        json.string(bytes: item.sequenceNumber.readableBytesView)
        json.key("subSequenceNumber")
        json.optionalInteger(item.subSequenceNumber)
        json.key("itemIndex")
        json.integer(item.token.item)
        json.key("itemCount")
        json.integer(item.token.itemCount)
        json.key("partitionKey")
        if let partitionKey = item.partitionKey { json.string(String(buffer: partitionKey)) } else { json.null() }
        json.key("key")
        json.string(String(buffer: item.key))
        json.key("approximateArrivalTimestamp")
        json.optionalInteger(item.arrivalTimestamp)
        extra(&json)
        json.key("data")
        json.rawString { buffer in
            item.data.withUnsafeReadableBytes { Base64.encode($0, into: &buffer) }
        }
        json.endObject()
    }
}
