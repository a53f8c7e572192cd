/// A record inside `processRecords`.
public struct MLDRecord: Hashable, Sendable {
    /// The record's bytes (base64 on the wire).
    public var data: [UInt8]
    /// nil for DynamoDB Streams records through the 1.x adapter.
    public var partitionKey: String?
    /// Decimal digits, kept exactly as received.
    public var sequenceNumber: String
    /// 0 for plain records, the index inside a KCL-de-aggregated KPL record; nil from KCL 1.x
    /// for DynamoDB Streams.
    public var subSequenceNumber: Int64?
    /// Epoch milliseconds.
    public var approximateArrivalTimestamp: Int64?

    public init(
        data: [UInt8],
        partitionKey: String?,
        sequenceNumber: String,
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?
    ) {
        self.data = data
        self.partitionKey = partitionKey
        self.sequenceNumber = sequenceNumber
        self.subSequenceNumber = subSequenceNumber
        self.approximateArrivalTimestamp = approximateArrivalTimestamp
    }
}
