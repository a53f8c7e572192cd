import NIOCore

/// One item, as a processor sees it.
public struct ProcessorItem: Sendable, Hashable {
    /// The item as it arrived from the mapper.
    public let wire: WireItem

    public init(_ wire: WireItem) { self.wire = wire }

    public var shardId: String { String(buffer: wire.shardId) }
    /// The stream the record came from (`--source NAME=…`, or the source's own name).
    public var stream: String { String(buffer: wire.stream) }
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

    /// With `--extract dynamodb`: the change (event name, keys, images, stream sequence number)
    /// read from the data; nil for other items. Throws when the data is not a DynamoDB Streams
    /// record.
    public func dynamoDBChange() throws -> DynamoDBChange? {
        guard wire.isDynamoDBRecord else { return nil }
        return try DynamoDBChange(data: wire.data)
    }
}
