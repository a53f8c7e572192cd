import NIOCore

/// A record read by the local source: its line number (which makes its sequence number), its
/// partition key and its data (base64 text as read from a file, or raw bytes as generated).
struct SourceRecord: Sendable {
    enum Data: Sendable {
        case base64([UInt8])
        case raw([UInt8])
    }

    var lineNumber: Int
    var partitionKey: [UInt8]
    var data: Data
    /// A small number naming the partition key, when the source knows one (the generator):
    /// lets the reader remember each key's shard without hashing the key.
    var keyID: Int?
    /// `approximateArrivalTimestamp` given in the input (epoch ms); nil: when it was read.
    var arrivalTimestamp: Int64?
}
