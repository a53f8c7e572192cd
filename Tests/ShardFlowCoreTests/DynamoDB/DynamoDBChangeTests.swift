import NIOCore
import Testing

@testable import ShardFlowCore

@Suite("DynamoDB Streams changes")
struct DynamoDBChangeTests {
    @Test("INSERT, MODIFY and REMOVE records read as the adapter writes them")
    func changes() throws {
        let modify = try DynamoDBChange(data: ByteBuffer(string: """
            {"awsRegion":"us-east-1","dynamodb":{"ApproximateCreationDateTime":1700000000000,"Keys":{"id":{"S":"a"}},\
            "NewImage":{"id":{"S":"a"},"n":{"N":"2"}},"OldImage":{"id":{"S":"a"},"n":{"N":"1"}},"SequenceNumber":"100000000003498069978",\
            "SizeBytes":6,"StreamViewType":"NEW_AND_OLD_IMAGES"},"eventID":"33fe","eventName":"MODIFY","eventSource":"aws:dynamodb","eventVersion":"1.1"}
            """))
        #expect(modify.eventName == .modify && modify.eventID == "33fe")
        #expect(modify.keys == .object(["id": .object(["S": .string("a")])]))
        #expect(modify.newImage?["n"] == .object(["N": .string("2")]) && modify.oldImage?["n"] == .object(["N": .string("1")]))
        #expect(modify.sequenceNumber == "100000000003498069978" && modify.approximateCreationDateTime == 1_700_000_000_000)
        let remove = try DynamoDBChange(data: ByteBuffer(string: #"{"eventName":"REMOVE","dynamodb":{"Keys":{"id":{"S":"a"}},"SequenceNumber":"7"}}"#))
        #expect(remove.eventName == .remove && remove.newImage == nil && remove.oldImage == nil)
    }

    @Test("what is not a DynamoDB Streams record says why", arguments: [
        ("x", "not JSON: expected a value at byte 0"),
        ("[]", "a DynamoDB Streams record is a JSON object, not an array"),
        (#"{"dynamodb":{}}"#, "no eventName"),
        (#"{"eventName":"UPSERT"}"#, "eventName UPSERT is not INSERT, MODIFY or REMOVE"),
        (#"{"eventName":"INSERT"}"#, "no dynamodb object"),
        (#"{"eventName":"INSERT","dynamodb":{"SequenceNumber":"1"}}"#, "no dynamodb.Keys object"),
        (#"{"eventName":"INSERT","dynamodb":{"Keys":{}}}"#, "no dynamodb.SequenceNumber"),
    ])
    func invalid(_ text: String, _ message: String) {
        do {
            _ = try DynamoDBChange(data: ByteBuffer(string: text))
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.message == message)
        }
    }
}
