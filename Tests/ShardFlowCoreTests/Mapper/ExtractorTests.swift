import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Extractor")
struct ExtractorTests {
    static func record(_ data: [UInt8], key: String? = "pk", sequence: String = "4959") -> WireRecord {
        WireRecord(index: 3, subSequenceNumber: 0, arrivalTimestamp: 1, sequenceNumber: ByteBuffer(string: sequence),
                   partitionKey: key.map { ByteBuffer(string: $0) }, data: ByteBuffer(bytes: data))
    }

    static func extract(_ extractor: Extractor, _ record: WireRecord) -> ([Extractor.Item], String?) {
        var items: [Extractor.Item] = []
        let warning = extractor.extract(record, into: &items)
        return (items, warning)
    }

    @Test("record: one item, keyed by the partition key (or the sequence number without one)")
    func wholeRecord() {
        let (items, _) = Self.extract(Extractor(), Self.record(Array("hello".utf8)))
        #expect(items.map { String(buffer: $0.data) } == ["hello"])
        #expect(items.map { String(buffer: $0.key) } == ["pk"])
        let (keyless, _) = Self.extract(Extractor(), Self.record(Array("x".utf8), key: nil, sequence: "777"))
        #expect(keyless.map { String(buffer: $0.key) } == ["777"])
        #expect(keyless[0].partitionKey == nil)
    }

    @Test("kpl: user records with their own keys; plain records whole; corrupt ones whole with a reason")
    func kpl() {
        let aggregate = KPLAggregate.encode([
            .init(partitionKey: ByteBuffer(string: "a"), data: ByteBuffer(string: "one")),
            .init(partitionKey: ByteBuffer(string: "b"), data: ByteBuffer(string: "two")),
        ])
        let extractor = Extractor(mode: .kpl)
        let (items, warning) = Self.extract(extractor, Self.record(aggregate))
        #expect(warning == nil)
        #expect(items.map { String(buffer: $0.data) } == ["one", "two"])
        #expect(items.map { String(buffer: $0.key) } == ["a", "b"])
        #expect(items.map { $0.partitionKey.map { String(buffer: $0) } } == ["a", "b"])

        let (plain, plainWarning) = Self.extract(extractor, Self.record(Array("plain".utf8)))
        #expect(plain.count == 1 && plainWarning == nil)

        var corrupt = aggregate
        corrupt[corrupt.count - 1] ^= 1
        let (whole, reason) = Self.extract(extractor, Self.record(corrupt))
        #expect(whole.count == 1)
        #expect(whole[0].data == ByteBuffer(bytes: corrupt), "never dropped: delivered as it is")
        #expect(reason?.contains("KPL digest mismatch") == true)

        let (none, _) = Self.extract(extractor, Self.record(KPLAggregate.encode([])))
        #expect(none.isEmpty, "an empty aggregate yields no item (the record completes at once)")
    }

    @Test("lines: one item per non-empty line, CRLF tolerated")
    func lines() {
        let (items, _) = Self.extract(Extractor(mode: .lines), Self.record(Array("a\r\n\nbb\n\nccc".utf8)))
        #expect(items.map { String(buffer: $0.data) } == ["a", "bb", "ccc"])
        let (empty, _) = Self.extract(Extractor(mode: .lines), Self.record(Array("\n\n".utf8)))
        #expect(empty.isEmpty)
    }

    @Test("json: keys: strings unescaped, other values in canonical form, errors per item")
    func jsonKeys() throws {
        let pointer = try #require(Extractor.KeySelector(argument: "json:/user/id"))
        let extractor = Extractor(mode: .record, key: pointer)
        func key(_ json: String) -> (String, String?) {
            let (items, _) = Self.extract(extractor, Self.record(Array(json.utf8)))
            return (String(buffer: items[0].key), items[0].error)
        }
        #expect(key(#"{"user":{"id":"u\u00e9"}}"#) == ("ué", nil))
        #expect(key(#"{"other":1,"user":{"name":"x","id":42}}"#) == ("42", nil))
        #expect(key(#"{"user":{"id":{"a":[1,2]}}}"#) == (#"{"a":[1,2]}"#, nil))
        #expect(key(#"{"user":{"id": 4.20e1 }}"#) == ("42", nil), "numbers in one form")
        let (_, missing) = key(#"{"user":{}}"#)
        #expect(missing == "key json:/user/id: no value at /user/id")
        let (_, notJSON) = key("plain text")
        #expect(notJSON?.hasPrefix("key json:/user/id: data is not JSON") == true)
        let arrayPointer = try #require(Extractor.KeySelector(argument: "json:/items/1"))
        let (items, _) = Self.extract(Extractor(key: arrayPointer), Self.record(Array(#"{"items":["a","b"]}"#.utf8)))
        #expect(String(buffer: items[0].key) == "b")
        #expect(JSONPointer("/a~1b/c~0d")?.tokens == ["a/b", "c~d"])
        #expect(Extractor.KeySelector(argument: "json:no-slash") == nil)
        #expect(Extractor.KeySelector(argument: "partitionKey") == .partitionKey)
    }

    @Test("canonical keys: the same object with its members in another order, other spacing or number forms is the same key")
    func canonicalKeys() throws {
        let extractor = Extractor(key: try #require(Extractor.KeySelector(argument: "json:/dynamodb/Keys")))
        let spellings = [
            #"{"dynamodb":{"Keys":{"id":{"S":"a"},"sk":{"N":"1"}}}}"#,
            #"{"dynamodb":{"Keys":{"sk":{"N":"1"},"id":{"S":"a"}}}}"#,
            #"{"dynamodb": {"Keys": { "sk" : {"N":"1"} , "id": {"S" : "a"} } } }"#,
        ]
        let keys = spellings.map { String(buffer: Self.extract(extractor, Self.record(Array($0.utf8))).0[0].key) }
        #expect(Set(keys) == [#"{"id":{"S":"a"},"sk":{"N":"1"}}"#])
        let numbers = Extractor(key: try #require(Extractor.KeySelector(argument: "json:/n")))
        let forms = ["1", "1.0", "10e-1", "0.1E1"].map { String(buffer: Self.extract(numbers, Self.record(Array(#"{"n":[\#($0)]}"#.utf8))).0[0].key) }
        #expect(Set(forms) == ["[1]"])
    }

    @Test("dynamodb: one item per change, keyed by its canonical Keys and flagged; a record without Keys is an item error")
    func dynamodb() {
        let extractor = Extractor(mode: .dynamodb)
        let change = #"{"eventName":"MODIFY","dynamodb":{"SequenceNumber":"100","Keys":{"sk":{"N":"2"},"pk":{"S":"user#1"}},"NewImage":{"pk":{"S":"user#1"}}}}"#
        let (items, _) = Self.extract(extractor, Self.record(Array(change.utf8), key: nil, sequence: "100"))
        #expect(items.count == 1)
        #expect(String(buffer: items[0].key) == #"{"pk":{"S":"user#1"},"sk":{"N":"2"}}"#)
        #expect(items[0].isDynamoDBRecord && items[0].error == nil)
        #expect(String(buffer: items[0].data) == change)
        let (broken, _) = Self.extract(extractor, Self.record(Array(#"{"eventName":"INSERT"}"#.utf8), key: nil, sequence: "101"))
        #expect(broken[0].error == "not a DynamoDB Streams record: no value at /dynamodb")
        #expect(String(buffer: broken[0].key) == "101", "keyed by its sequence number, so it still goes somewhere")
        let byAttribute = Extractor(mode: .dynamodb, key: .jsonPointer(JSONPointer("/dynamodb/Keys/pk/S")!))
        #expect(String(buffer: Self.extract(byAttribute, Self.record(Array(change.utf8))).0[0].key) == "user#1")
    }
}

@Suite("Whole-record items")
struct WholeRecordItemTests {
    @Test("copying a record into an item gives the same bytes as writing the item field by field", arguments: [true, false])
    func sameBytes(withKey: Bool) {
        let record = WireRecord(
            index: 99, subSequenceNumber: withKey ? 4 : nil, arrivalTimestamp: withKey ? 1234 : nil,
            sequenceNumber: ByteBuffer(string: "495800"), partitionKey: withKey ? ByteBuffer(string: "user-7") : nil,
            data: ByteBuffer(string: "payload"))
        let token = Token(router: 2, worker: 0xAB_0000_0003, record: 99, item: 0, itemCount: 1)
        let shard = ByteBuffer(string: "shardId-000000000001")
        var fast = ByteBuffer()
        let stream = ByteBuffer(string: "orders")
        WireItem.writeWholeRecord(record, token: token, shardId: shard, stream: stream, to: &fast)
        var slow = ByteBuffer()
        WireItem.write(
            token: token, subSequenceNumber: record.subSequenceNumber, arrivalTimestamp: record.arrivalTimestamp,
            shardId: shard, stream: stream, sequenceNumber: record.sequenceNumber, partitionKey: record.partitionKey,
            key: record.partitionKey ?? record.sequenceNumber, error: nil, data: record.data, to: &slow)
        #expect(fast == slow)
    }
}
