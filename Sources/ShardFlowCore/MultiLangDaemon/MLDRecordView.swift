/// The fields of one record of a `processRecords` line, borrowed from the line being parsed:
/// valid only during the visitor call that receives it. Lets the worker encode records into
/// frames straight from the JSON text, without building intermediate values.
public struct MLDRecordView {
    /// The base64 text of `data` (escapes resolved).
    public let base64Data: UnsafeRawBufferPointer
    /// UTF-8 bytes of `partitionKey` (escapes resolved); nil when null or absent.
    public let partitionKey: UnsafeRawBufferPointer?
    /// ASCII of `sequenceNumber`, exactly as sent.
    public let sequenceNumber: UnsafeRawBufferPointer
    public let subSequenceNumber: Int64?
    public let approximateArrivalTimestamp: Int64?
}
