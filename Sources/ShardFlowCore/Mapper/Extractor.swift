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
    }

    /// Which key an item is partitioned by (`--key`).
    public enum KeySelector: Sendable, Hashable, CustomStringConvertible {
        /// The item's own partition key: a KPL user record's key from the aggregate's table,
        /// otherwise the record's. A record without one (DynamoDB Streams through the 1.x
        /// adapter) is keyed by its sequence number.
        case partitionKey
        /// The value at an RFC 6901 JSON pointer inside the item's data: a string's text, or
        /// the raw JSON text of any other value.
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
    }

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
        switch key {
        case .partitionKey:
            return Item(partitionKey: partitionKey, key: partitionKey ?? record.sequenceNumber, data: data)
        case .jsonPointer(let pointer):
            switch pointer.select(in: data) {
            case .success(let value):
                return Item(partitionKey: partitionKey, key: value, data: data)
            case .failure(let error):
                return Item(partitionKey: partitionKey, key: partitionKey ?? record.sequenceNumber, data: data,
                            error: "key json:\(pointer): \(error.message)")
            }
        }
    }
}

/// An RFC 6901 JSON pointer such as `/dynamodb/Keys/id/S`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    public struct Failure: Error, Sendable, Hashable {
        public var message: String
    }

    public let tokens: [String]

    /// nil unless `text` is empty or starts with `/`.
    public init?(_ text: String) {
        guard text.isEmpty || text.hasPrefix("/") else { return nil }
        tokens = text.isEmpty ? [] : text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingEscapes()
        }
    }

    public var description: String {
        tokens.map { "/" + $0.replacing("~", with: "~0").replacing("/", with: "~1") }.joined()
    }

    /// The selected value of the JSON document `data`: a string's unescaped bytes, or the raw
    /// JSON text of another value.
    public func select(in data: ByteBuffer) -> Result<ByteBuffer, Failure> {
        data.withUnsafeReadableBytes { bytes in
            var scanner = JSONScanner(bytes)
            do {
                for (depth, token) in tokens.enumerated() {
                    guard try descend(&scanner, into: token) else {
                        let path = tokens[...depth].map { "/" + $0 }.joined()
                        return .failure(Failure(message: "no value at \(path)"))
                    }
                }
                scanner.skipWhitespace()
                let start = scanner.position
                if start < bytes.count, bytes[start] == UInt8(ascii: "\"") {
                    let ref = try scanner.readString()
                    return .success(ByteBuffer(bytes: try scanner.unescaped(ref)))
                }
                try scanner.skipValue()
                return .success(data.getSlice(at: data.readerIndex + start, length: scanner.position - start)!)
            } catch {
                return .failure(Failure(message: "data is not JSON: \(error)"))
            }
        }
    }

    /// Positions the scanner on the member `token` of the current object or array.
    private func descend(_ scanner: inout JSONScanner, into token: String) throws(JSONError) -> Bool {
        scanner.skipWhitespace()
        guard scanner.position < scanner.bytes.count else { throw JSONError("expected a value", at: scanner.position) }
        switch scanner.bytes[scanner.position] {
        case UInt8(ascii: "{"):
            try scanner.beginObject()
            while let key = try scanner.nextKey() {
                if try scanner.string(key) == token { return true }
                try scanner.skipValue()
            }
            return false
        case UInt8(ascii: "["):
            guard let wanted = Int(token), wanted >= 0 else { return false }
            try scanner.beginArray()
            var index = 0
            while try scanner.nextElement() {
                if index == wanted { return true }
                try scanner.skipValue()
                index += 1
            }
            return false
        default:
            try scanner.skipValue()
            return false
        }
    }
}

extension Substring {
    fileprivate func replacingEscapes() -> String {
        String(self).replacing("~1", with: "/").replacing("~0", with: "~")
    }
}
