import NIOCore

/// Turns one record into the items the reducers process, and says which key each is
/// partitioned by. Pure: the same record always yields the same items, which redelivery relies
/// on (a record's item count must not change between deliveries).
public struct Extractor: Sendable, Hashable {
    /// How records become items (`--extract`).
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// One item per record (the default).
        case record
        /// De-aggregate KPL aggregates into their user records; other records pass as one item.
        case kpl
        /// One item per non-empty line (`\n`, with a trailing `\r` removed).
        case lines
        /// One item per record whose data is a DynamoDB Streams record (as the DynamoDB Streams
        /// Kinesis adapter delivers them): keyed by its canonical `dynamodb.Keys` unless `--key`
        /// names a `json:` pointer, and flagged so processors get its event name, keys, images
        /// and stream sequence number.
        case dynamodb
    }

    /// Which key an item is partitioned by (`--key`).
    public enum KeySelector: Sendable, Hashable, CustomStringConvertible {
        /// The item's own partition key: a KPL user record's key from the aggregate's table,
        /// otherwise the record's. A record without one is keyed by its sequence number. With
        /// `--extract dynamodb`: the record's `dynamodb.Keys`.
        case partitionKey
        /// The value at an RFC 6901 JSON pointer inside the item's data: a string's text, or
        /// the canonical JSON text of any other value (members sorted, no whitespace, numbers
        /// in one form), so the same value is always the same key.
        case jsonPointer(JSONPointer)

        /// Parses `partitionKey` or `json:/pointer`.
        public init?(argument: String) {
            if argument == "partitionKey" || argument == "partition-key" {
                self = .partitionKey
            } else if argument.hasPrefix("json:"), let pointer = JSONPointer(String(argument.dropFirst(5))) {
                self = .jsonPointer(pointer)
            } else {
                return nil
            }
        }

        public var description: String {
            switch self {
            case .partitionKey: "partitionKey"
            case .jsonPointer(let pointer): "json:\(pointer)"
            }
        }
    }

    /// One extracted item. Byte fields are slices of the record (no copies).
    public struct Item: Hashable, Sendable {
        public var partitionKey: ByteBuffer?
        public var key: ByteBuffer
        public var data: ByteBuffer
        /// Set when the item cannot be processed (its key could not be read): the reducer
        /// applies the error policy instead of running the processor.
        public var error: String?
        /// The data is a DynamoDB Streams record (`--extract dynamodb`).
        public var isDynamoDBRecord = false
    }

    /// Where `--extract dynamodb` finds an item's key by default.
    public static let dynamoDBKeys = JSONPointer("/dynamodb/Keys")!

    public var mode: Mode
    public var key: KeySelector

    public init(mode: Mode = .record, key: KeySelector = .partitionKey) {
        self.mode = mode
        self.key = key
    }

    /// Extracts the items of `record`, appending them to `items`. Returns a warning when the
    /// record looked like a KPL aggregate but was corrupt (it is then delivered whole).
    @discardableResult
    public func extract(_ record: WireRecord, into items: inout [Item]) -> String? {
        switch mode {
        case .record:
            items.append(item(partitionKey: record.partitionKey, data: record.data, record: record))
            return nil
        case .dynamodb:
            var extracted = item(partitionKey: record.partitionKey, data: record.data, record: record)
            extracted.isDynamoDBRecord = true
            items.append(extracted)
            return nil
        case .kpl:
            switch KPLAggregate.decode(record.data) {
            case .plain:
                items.append(item(partitionKey: record.partitionKey, data: record.data, record: record))
                return nil
            case .corrupt(let reason):
                items.append(item(partitionKey: record.partitionKey, data: record.data, record: record))
                return "\(reason); delivered as a plain record"
            case .aggregate(let userRecords):
                for userRecord in userRecords {
                    items.append(item(partitionKey: userRecord.partitionKey, data: userRecord.data, record: record))
                }
                return nil
            }
        case .lines:
            let data = record.data
            var lines: [(offset: Int, length: Int)] = []
            data.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let newline = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                    var lineEnd = newline
                    if lineEnd > offset, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                    if lineEnd > offset { lines.append((offset, lineEnd - offset)) }
                    offset = newline + 1
                }
            }
            for line in lines {
                let slice = data.getSlice(at: data.readerIndex + line.offset, length: line.length)!
                items.append(item(partitionKey: record.partitionKey, data: slice, record: record))
            }
            return nil
        }
    }

    private func item(partitionKey: ByteBuffer?, data: ByteBuffer, record: WireRecord) -> Item {
        var key = self.key
        if mode == .dynamodb, key == .partitionKey { key = .jsonPointer(Self.dynamoDBKeys) }
        switch key {
        case .partitionKey:
            return Item(partitionKey: partitionKey, key: partitionKey ?? record.sequenceNumber, data: data)
        case .jsonPointer(let pointer):
            switch pointer.select(in: data) {
            case .success(let value):
                return Item(partitionKey: partitionKey, key: value, data: data)
            case .failure(let error):
                let reason = key == self.key ? "key json:\(pointer): \(error.message)" : "not a DynamoDB Streams record: \(error.message)"
                return Item(partitionKey: partitionKey, key: partitionKey ?? record.sequenceNumber, data: data, error: reason)
            }
        }
    }
}
