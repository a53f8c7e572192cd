import NIOCore
import ShardFlowCore

/// `--exec-format lambda`: a batch as the event an AWS Lambda function receives from a Kinesis
/// stream — or, for `--extract dynamodb` items, from a DynamoDB stream — so an existing handler
/// runs unchanged behind a small shim; and how its partial batch response
/// (`{"batchItemFailures": [{"itemIdentifier": SEQUENCE_NUMBER}]}`) names items.
///
/// Kinesis records carry `kinesis.{kinesisSchemaVersion, partitionKey, sequenceNumber, data,
/// approximateArrivalTimestamp}` (seconds, as Lambda sends it), `eventSource`, `eventVersion`,
/// `eventID` (`shardId:sequenceNumber`), `eventName`, `invokeIdentityArn`, `awsRegion` and
/// `eventSourceARN` (`arn:aws:kinesis:REGION:000000000000:stream/STREAM`: ShardFlow does not know
/// the account). DynamoDB records are the stream records as the daemon delivered them, with
/// `eventSourceARN` added when they lack one. The identifier is the record's sequence number
/// (`dynamodb.SequenceNumber` for DynamoDB): it names every item of that record (all the user
/// records of a KPL aggregate, as Lambda would redeliver the whole aggregate).
enum LambdaEvent {
    /// `AWS_REGION` of the environment, as Lambda sets it (default `local`).
    static let region = RuntimeDirectory.environment("AWS_REGION") ?? "local"

    /// Writes the event for `items`; returns, for each identifier a reply may use, the
    /// positions of the items it names.
    static func write(_ items: [ProcessorItem], into json: inout JSONWriter) -> [String: [Int]] {
        var positions: [String: [Int]] = [:]
        json.beginObject()
        json.key("Records")
        json.beginArray()
        for (position, item) in items.enumerated() {
            if item.wire.isDynamoDBRecord, case .object(var record)? = try? JSONParser.parse(item.wire.data.readableBytesView) {
                if record["eventSourceARN"] == nil {
                    record["eventSourceARN"] = .string("arn:aws:dynamodb:\(region):000000000000:table/\(item.stream)/stream/shardflow")
                }
                json.value(.object(record))
                let sequenceNumber = record["dynamodb"]?["SequenceNumber"]?.stringValue ?? item.sequenceNumber
                positions[sequenceNumber, default: []].append(position)
            } else {
                writeKinesis(item, into: &json)
                positions[item.sequenceNumber, default: []].append(position)
            }
        }
        json.endArray()
        json.endObject()
        json.endLine()
        return positions
    }

    private static func writeKinesis(_ item: ProcessorItem, into json: inout JSONWriter) {
        let wire = item.wire
        json.beginObject()
        json.key("kinesis")
        json.beginObject()
        json.key("kinesisSchemaVersion"); json.string("1.0")
        json.key("partitionKey")
        if let partitionKey = wire.partitionKey { json.string(String(buffer: partitionKey)) } else { json.string(String(buffer: wire.key)) }
        json.key("sequenceNumber"); json.string(bytes: wire.sequenceNumber.readableBytesView)
        json.key("data")
        json.rawString { buffer in wire.data.withUnsafeReadableBytes { Base64.encode($0, into: &buffer) } }
        json.key("approximateArrivalTimestamp")
        if let millis = wire.arrivalTimestamp {
            json.number(text: "\(Double(millis) / 1000)")
        } else {
            json.null()
        }
        json.endObject()
        json.key("eventSource"); json.string("aws:kinesis")
        json.key("eventVersion"); json.string("1.0")
        json.key("eventID"); json.string("\(item.shardId):\(item.sequenceNumber)")
        json.key("eventName"); json.string("aws:kinesis:record")
        json.key("invokeIdentityArn"); json.string("arn:aws:iam::000000000000:role/shardflow")
        json.key("awsRegion"); json.string(region)
        json.key("eventSourceARN"); json.string("arn:aws:kinesis:\(region):000000000000:stream/\(item.stream)")
        json.endObject()
    }
}
