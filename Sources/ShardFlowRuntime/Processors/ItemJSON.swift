import NIOCore

/// The JSON object ShardFlow writes for an item (jsonl output, exec input, dead letters):
/// `stream`, `shardId`, `sequenceNumber`, `subSequenceNumber`, `itemIndex`, `itemCount`,
/// `partitionKey`, `key`, `approximateArrivalTimestamp`, for `--extract dynamodb` items
/// `eventName`, `keys`, `newImage`, `oldImage` and `streamSequenceNumber`, and `data` (base64),
/// plus any `extra` fields.
enum ItemJSON {
    static func write(_ item: WireItem, into json: inout JSONWriter, extra: (inout JSONWriter) -> Void = { _ in }) {
        json.beginObject()
        json.key("stream")
        json.string(bytes: item.stream.readableBytesView)
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
        if item.isDynamoDBRecord, let change = try? DynamoDBChange(data: item.data) {
            json.key("eventName")
            json.string(change.eventName.rawValue)
            json.key("keys")
            json.value(change.keys)
            json.key("newImage")
            json.value(change.newImage)
            json.key("oldImage")
            json.value(change.oldImage)
            json.key("streamSequenceNumber")
            json.string(change.sequenceNumber)
        }
        extra(&json)
        json.key("data")
        json.rawString { buffer in
            item.data.withUnsafeReadableBytes { Base64.encode($0, into: &buffer) }
        }
        json.endObject()
    }
}
