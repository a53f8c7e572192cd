import NIOCore

/// The `--filter` patterns of a mapper: an item is kept when any pattern matches its event (or
/// when there is no pattern); the others are completed without being processed.
///
/// An item's event is a JSON object with the item's metadata — `stream`, `shardId`,
/// `sequenceNumber`, `subSequenceNumber`, `partitionKey`, `approximateArrivalTimestamp`, `key`
/// (members whose value is absent are left out) — and `data`, the item's data when it is JSON.
/// For `--extract dynamodb`, the DynamoDB Streams record's own members (`eventName`,
/// `dynamodb`, `eventSource`, …) are there too, as Lambda's DynamoDB filters expect.
public struct EventFilter: Hashable, Sendable {
    public let patterns: [EventPattern]

    public init(patterns: [EventPattern] = []) {
        self.patterns = patterns
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// Whether the item is kept.
    public func keeps(_ item: Extractor.Item, of record: WireRecord, stream: String, shardId: String) -> Bool {
        guard !patterns.isEmpty else { return true }
        let event = Self.event(of: item, record: record, stream: stream, shardId: shardId)
        return patterns.contains { $0.matches(event) }
    }

    /// The JSON object the patterns are matched against.
    public static func event(of item: Extractor.Item, record: WireRecord, stream: String, shardId: String) -> JSONValue {
        var members: [String: JSONValue] = [
            "stream": .string(stream),
            "shardId": .string(shardId),
            "sequenceNumber": .string(String(buffer: record.sequenceNumber)),
            "key": .string(String(decoding: item.key.readableBytesView, as: UTF8.self)),
        ]
        if let subSequenceNumber = record.subSequenceNumber { members["subSequenceNumber"] = .number(JSONNumber(Int(subSequenceNumber))) }
        if let partitionKey = item.partitionKey { members["partitionKey"] = .string(String(buffer: partitionKey)) }
        if let arrival = record.arrivalTimestamp { members["approximateArrivalTimestamp"] = .number(JSONNumber(Int(arrival))) }
        if let data = try? JSONParser.parse(item.data.readableBytesView) {
            members["data"] = data
            if item.isDynamoDBRecord, case .object(let fields) = data {
                for (name, value) in fields where members[name] == nil { members[name] = value }
            }
        }
        return .object(members)
    }
}
