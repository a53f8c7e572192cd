/// A record of the local source as the reading loop sees it: its parts in place, valid only
/// during the call that hands it over (no arrays made or kept per record).
struct SourceRecordView {
    /// The line number (which makes the sequence number).
    var lineNumber: Int
    var partitionKey: UnsafeRawBufferPointer
    /// Whether the partition key needs no JSON escaping (the source knows it, for its own keys).
    var plainKey: Bool
    /// A small number naming the partition key, when the source knows one (the generator).
    var keyID: Int?
    /// The data: base64 text when `isBase64`, raw bytes otherwise.
    var data: UnsafeRawBufferPointer
    var isBase64: Bool
    /// `approximateArrivalTimestamp` given in the input (epoch ms); nil: when it was read.
    var arrivalTimestamp: Int64?
}
