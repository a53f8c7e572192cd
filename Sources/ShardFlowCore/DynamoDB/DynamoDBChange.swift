import NIOCore

/// One change of a DynamoDB Streams record, as `--extract dynamodb` items carry it in their
/// data (the stream record's JSON, as the DynamoDB Streams Kinesis adapter delivers it):
///
/// ```
/// {"eventID": "…", "eventName": "MODIFY", "eventSource": "aws:dynamodb", "awsRegion": "…",
///  "dynamodb": {"Keys": {…}, "NewImage": {…}, "OldImage": {…}, "SequenceNumber": "…",
///               "ApproximateCreationDateTime": 1700000000000, "StreamViewType": "…"}}
/// ```
///
/// Attribute values stay in DynamoDB's typed JSON (`{"S": "…"}`, `{"N": "…"}`, …).
public struct DynamoDBChange: Hashable, Sendable {
    public enum EventName: String, Hashable, Sendable, CaseIterable {
        case insert = "INSERT"
        case modify = "MODIFY"
        case remove = "REMOVE"
    }

    public var eventName: EventName
    public var eventID: String?
    /// The item's primary key attributes.
    public var keys: JSONValue
    /// The item after the change (absent for REMOVE and for KEYS_ONLY / OLD_IMAGE streams).
    public var newImage: JSONValue?
    /// The item before the change (absent for INSERT and for KEYS_ONLY / NEW_IMAGE streams).
    public var oldImage: JSONValue?
    /// The stream record's sequence number (`dynamodb.SequenceNumber`).
    public var sequenceNumber: String
    /// `dynamodb.ApproximateCreationDateTime`, epoch milliseconds, when present.
    public var approximateCreationDateTime: Int64?

    public init(eventName: EventName, eventID: String? = nil, keys: JSONValue, newImage: JSONValue? = nil, oldImage: JSONValue? = nil,
                sequenceNumber: String, approximateCreationDateTime: Int64? = nil) {
        self.eventName = eventName
        self.eventID = eventID
        self.keys = keys
        self.newImage = newImage
        self.oldImage = oldImage
        self.sequenceNumber = sequenceNumber
        self.approximateCreationDateTime = approximateCreationDateTime
    }

    /// Why data is not a DynamoDB Streams record.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Reads a stream record.
    public init(data: ByteBuffer) throws(Failure) {
        let document: JSONValue
        do {
            document = try JSONParser.parse(data.readableBytesView)
        } catch {
            throw Failure(message: "not JSON: \(error)")
        }
        try self.init(record: document)
    }

    public init(record document: JSONValue) throws(Failure) {
        guard case .object = document else { throw Failure(message: "a DynamoDB Streams record is a JSON object, not \(document.kindName)") }
        guard let name = document["eventName"]?.stringValue else { throw Failure(message: "no eventName") }
        guard let eventName = EventName(rawValue: name) else {
            throw Failure(message: "eventName \(name) is not INSERT, MODIFY or REMOVE")
        }
        guard let change = document["dynamodb"], case .object = change else { throw Failure(message: "no dynamodb object") }
        guard let keys = change["Keys"], case .object = keys else { throw Failure(message: "no dynamodb.Keys object") }
        guard let sequenceNumber = change["SequenceNumber"]?.stringValue else { throw Failure(message: "no dynamodb.SequenceNumber") }
        var created: Int64?
        if case .number(let number)? = change["ApproximateCreationDateTime"] { created = Int64(exactly: number.doubleValue) }
        self.init(
            eventName: eventName, eventID: document["eventID"]?.stringValue, keys: keys,
            newImage: change["NewImage"], oldImage: change["OldImage"], sequenceNumber: sequenceNumber,
            approximateCreationDateTime: created)
    }
}
