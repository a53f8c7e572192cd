import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Event patterns (--filter)")
struct EventPatternTests {
    static func event(_ text: String) -> JSONValue { try! JSONParser.parse(Array(text.utf8)) }

    static func matches(_ pattern: String, _ event: String) throws -> Bool {
        try EventPattern(pattern).matches(Self.event(event))
    }

    @Test("exact values, any of a list; every field must match; nested objects")
    func exact() throws {
        #expect(try Self.matches(#"{"eventName": ["INSERT"]}"#, #"{"eventName": "INSERT"}"#))
        #expect(try !Self.matches(#"{"eventName": ["INSERT"]}"#, #"{"eventName": "REMOVE"}"#))
        #expect(try Self.matches(#"{"eventName": ["INSERT", "MODIFY"]}"#, #"{"eventName": "MODIFY"}"#))
        #expect(try !Self.matches(#"{"eventName": ["INSERT"], "x": [1]}"#, #"{"eventName": "INSERT", "x": 2}"#))
        #expect(try Self.matches(#"{"data": {"type": ["order"]}}"#, #"{"data": {"type": "order", "id": 7}}"#))
        #expect(try !Self.matches(#"{"data": {"type": ["order"]}}"#, #"{"data": "order"}"#))
        #expect(try Self.matches(#"{"n": [1]}"#, #"{"n": 1.0}"#), "numbers compare by value")
        #expect(try Self.matches(#"{"v": [null]}"#, #"{"v": null}"#))
        #expect(try !Self.matches(#"{"v": [null]}"#, #"{}"#))
        #expect(try Self.matches(#"{"tags": ["red"]}"#, #"{"tags": ["blue", "red"]}"#), "an array field matches by any element")
    }

    @Test("prefix, suffix, equals-ignore-case, anything-but, numeric, exists")
    func matchers() throws {
        #expect(try Self.matches(#"{"k": [{"prefix": "user#"}]}"#, #"{"k": "user#7"}"#))
        #expect(try !Self.matches(#"{"k": [{"prefix": "user#"}]}"#, #"{"k": 7}"#))
        #expect(try Self.matches(#"{"k": [{"suffix": ".png"}]}"#, #"{"k": "a.png"}"#))
        #expect(try Self.matches(#"{"k": [{"equals-ignore-case": "Paid"}]}"#, #"{"k": "PAID"}"#))
        #expect(try Self.matches(#"{"s": [{"anything-but": ["deleted", "archived"]}]}"#, #"{"s": "active"}"#))
        #expect(try !Self.matches(#"{"s": [{"anything-but": "deleted"}]}"#, #"{"s": "deleted"}"#))
        #expect(try !Self.matches(#"{"s": [{"anything-but": "deleted"}]}"#, #"{}"#), "anything-but needs the field")
        #expect(try !Self.matches(#"{"s": [{"anything-but": {"prefix": "tmp"}}]}"#, #"{"s": "tmp-1"}"#))
        #expect(try Self.matches(#"{"n": [{"numeric": [">", 0, "<=", 5]}]}"#, #"{"n": 5}"#))
        #expect(try !Self.matches(#"{"n": [{"numeric": [">", 0, "<=", 5]}]}"#, #"{"n": 5.01}"#))
        #expect(try !Self.matches(#"{"n": [{"numeric": [">", 0]}]}"#, #"{"n": "7"}"#), "numeric needs a number")
        #expect(try Self.matches(#"{"n": [{"numeric": ["=", 100]}]}"#, #"{"n": 1e2}"#))
        #expect(try Self.matches(#"{"old": [{"exists": false}]}"#, #"{"new": 1}"#))
        #expect(try !Self.matches(#"{"old": [{"exists": false}]}"#, #"{"old": null}"#))
        #expect(try Self.matches(#"{"old": [{"exists": true}]}"#, #"{"old": null}"#))
        #expect(try Self.matches(#"{"d": {"OldImage": [{"exists": false}]}}"#, #"{}"#), "a missing object holds exists:false")
    }

    @Test("an unusable pattern is refused with the field and the reason", arguments: [
        ("INSERT", "not valid JSON: expected a value at byte 0"),
        ("[]", "a pattern is a JSON object naming at least one field, such as {\"eventName\": [\"INSERT\"]}"),
        (#"{"eventName": "INSERT"}"#, "at /eventName: expected a list of matchers such as [\"INSERT\"] or a nested object, not a string"),
        (#"{"a": []}"#, "at /a: an empty list matches nothing"),
        (#"{"a": {"b": {}}}"#, "at /a/b: an empty object matches nothing"),
        (#"{"a": [{"prefix": 1}]}"#, "at /a: \"prefix\" takes a string, not a number"),
        (#"{"a": [{"numeric": [">"]}]}"#, "at /a: \"numeric\" takes [op, number] or [op, number, op, number], such as [\">\", 0, \"<=\", 5]"),
        (#"{"a": [{"numeric": ["!=", 1]}]}"#, "at /a: \"numeric\" operators are = < <= > >="),
        (#"{"a": [{"exists": "yes"}]}"#, "at /a: \"exists\" takes true or false"),
        (#"{"a": [{"wildcard": "*"}]}"#, "at /a: unknown matcher \"wildcard\"; use a value, prefix, suffix, equals-ignore-case, anything-but, numeric or exists"),
        (#"{"a": [{"prefix": "x", "suffix": "y"}]}"#, "at /a: a matcher object has exactly one member, such as {\"prefix\": \"abc\"}"),
    ])
    func invalid(_ pattern: String, _ message: String) {
        do {
            _ = try EventPattern(pattern)
            Issue.record("\(pattern) was accepted")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("an item's event: metadata, its JSON data, and a DynamoDB record's own members")
    func itemEvent() {
        let record = WireRecord(index: 0, subSequenceNumber: 2, arrivalTimestamp: 1_700_000_000_000, sequenceNumber: ByteBuffer(string: "49"),
                                partitionKey: ByteBuffer(string: "pk"), data: ByteBuffer(string: #"{"eventName":"INSERT","dynamodb":{"Keys":{}}}"#))
        var items: [Extractor.Item] = []
        Extractor(mode: .dynamodb).extract(record, into: &items)
        let event = EventFilter.event(of: items[0], record: record, stream: "orders", shardId: "shard-1")
        #expect(event["stream"] == .string("orders") && event["shardId"] == .string("shard-1"))
        #expect(event["sequenceNumber"] == .string("49") && event["partitionKey"] == .string("pk"))
        #expect(event["subSequenceNumber"] == .number(JSONNumber(2)))
        #expect(event["approximateArrivalTimestamp"] == .number(JSONNumber(1_700_000_000_000)))
        #expect(event["eventName"] == .string("INSERT"), "DynamoDB members at the top, as Lambda's filters expect")
        #expect(event["data"]?["eventName"] == .string("INSERT"))
        let filter = EventFilter(patterns: [try! EventPattern(#"{"eventName": ["MODIFY"]}"#), try! EventPattern(#"{"stream": ["orders"]}"#)])
        #expect(filter.keeps(items[0], of: record, stream: "orders", shardId: "shard-1"), "any pattern may match")
        #expect(!filter.keeps(items[0], of: record, stream: "users", shardId: "shard-1"))
        #expect(EventFilter().keeps(items[0], of: record, stream: "users", shardId: "shard-1"), "no pattern keeps everything")
    }
}
