import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("MultiLangDaemon messages")
struct MLDCodecTests {
    static func decode(_ line: String) throws(MLDError) -> DaemonMessage {
        try MLDDecoder.decodeDaemonMessage(Array(line.utf8))
    }

    // Sample lines from the reference (shapes from kclpy's integration test).
    @Test("initialize from the reference")
    func initialize() throws {
        #expect(try Self.decode(#"{"action":"initialize","shardId":"shardId-123","sequenceNumber":"456","subSequenceNumber":0}"#)
            == .initialize(shardId: "shardId-123", sequenceNumber: "456", subSequenceNumber: 0))
        #expect(try Self.decode(#"{"action":"initialize","shardId":"shardId-000000000001","sequenceNumber":"TRIM_HORIZON","subSequenceNumber":null}"#)
            == .initialize(shardId: "shardId-000000000001", sequenceNumber: "TRIM_HORIZON", subSequenceNumber: nil))
    }

    @Test("processRecords from the reference")
    func processRecords() throws {
        let line = #"{"action":"processRecords","millisBehindLatest":1476889708000,"records":[{"action":"record","data":"bWVvdw==","partitionKey":"cat","sequenceNumber":"456","subSequenceNumber":0,"approximateArrivalTimestamp":1476889707000}]}"#
        #expect(try Self.decode(line) == .processRecords(
            records: [MLDRecord(data: Array("meow".utf8), partitionKey: "cat", sequenceNumber: "456",
                                subSequenceNumber: 0, approximateArrivalTimestamp: 1_476_889_707_000)],
            millisBehindLatest: 1_476_889_708_000
        ))
    }

    @Test("checkpoint replies with and without error")
    func checkpointReplies() throws {
        #expect(try Self.decode(#"{"action":"checkpoint","sequenceNumber":"456","subSequenceNumber":0,"error":"Exception"}"#)
            == .checkpoint(sequenceNumber: "456", subSequenceNumber: 0, error: CheckpointError(name: "Exception")))
        #expect(try Self.decode(#"{"action":"checkpoint","sequenceNumber":"456","subSequenceNumber":0}"#)
            == .checkpoint(sequenceNumber: "456", subSequenceNumber: 0, error: nil))
        #expect(try Self.decode(#"{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null,"error":null}"#)
            == .checkpoint(sequenceNumber: nil, subSequenceNumber: nil, error: nil))
    }

    @Test("shard end, lease loss, shutdown requests and the legacy shutdown reasons")
    func lifecycleMessages() throws {
        #expect(try Self.decode(#"{"action":"shardEnded"}"#) == .shardEnded)
        #expect(try Self.decode(#"{"action":"leaseLost"}"#) == .leaseLost)
        #expect(try Self.decode(#"{"action":"shutdownRequested"}"#) == .shutdownRequested)
        #expect(try Self.decode(#"{"action":"shutdown","reason":"TERMINATE"}"#) == .shutdown(reason: .terminate))
        #expect(try Self.decode(#"{"action":"shutdown","reason":"ZOMBIE"}"#) == .shutdown(reason: .zombie))
        #expect(try Self.decode(#"{"action":"shutdown","reason":"SHARD_END"}"#) == .shutdown(reason: .shardEnd))
        #expect(try Self.decode(#"{"action":"shutdown","reason":"LEASE_LOST"}"#) == .shutdown(reason: .leaseLost))
        #expect(ShutdownReason.terminate.isShardEnd && ShutdownReason.shardEnd.isShardEnd)
        #expect(!ShutdownReason.zombie.isShardEnd && !ShutdownReason.leaseLost.isShardEnd)
    }

    @Test("KCL 1.x DynamoDB records: no subSequenceNumber, null partition key, V1 without millisBehindLatest")
    func dynamoDBRecords() throws {
        let data = Base64.encode(Array(#"{"eventName":"INSERT"}"#.utf8))
        let line = #"{"action":"processRecords","records":[{"data":"\#(data)","partitionKey":null,"sequenceNumber":"100000000003498069978","approximateArrivalTimestamp":1537808865000},{"action":"record","data":"\#(data)","sequenceNumber":"100000000003498069979","subSequenceNumber":null}]}"#
        guard case .processRecords(let records, let behind) = try Self.decode(line) else {
            Issue.record("not processRecords")
            return
        }
        #expect(behind == nil)
        #expect(records.map(\.subSequenceNumber) == [nil, nil])
        #expect(records.map(\.partitionKey) == [nil, nil])
        #expect(records[0].sequenceNumber == "100000000003498069978")
        #expect(records[1].approximateArrivalTimestamp == nil)
        #expect(String(decoding: records[0].data, as: UTF8.self) == #"{"eventName":"INSERT"}"#)
    }

    @Test("keys in any order, whitespace, escapes and unknown keys")
    func tolerantParsing() throws {
        let line = """
             { "records" : [ { "subSequenceNumber" : 3 , "sequenceNumber" : "49587497311274533994574834252742144236107130636007899138",
             "data" : "AQID\\/w==", "partitionKey" : "p\\u00e9\\"k\\ud83d\\ude00", "future" : {"a":[1,2.5e3,true,false,null,{"b":"c"}]} } ],
             "action" : "processRecords", "millisBehindLatest" : null, "newField" : [] }\r
            """
        guard case .processRecords(let records, _) = try Self.decode(line) else {
            Issue.record("not processRecords")
            return
        }
        #expect(records.count == 1)
        #expect(records[0].data == [1, 2, 3, 0xFF])
        #expect(records[0].partitionKey == "pé\"k😀")
        #expect(records[0].subSequenceNumber == 3)
        #expect(records[0].sequenceNumber.count == 56)
    }

    @Test("the fast record reader and the general parser accept the same records and agree", arguments: [
        (#"{"action":"record","data":"YQ==","partitionKey":"k","sequenceNumber":"1","subSequenceNumber":2,"approximateArrivalTimestamp":3}"#, true),
        (#"{ "data" : null , "partitionKey" : null, "sequenceNumber" : "1", "subSequenceNumber" : null }"#, true),
        (#"{"sequenceNumber":"1","data":"YQ==","partitionKey":"k\"q","subSequenceNumber":0}"#, false),
        (#"{"sequenceNumber":"1","data":"YQ\u003d\u003d","subSequenceNumber":0}"#, false),
        (#"{"sequenceNumber":"1","newField":{"nested":[1,2]},"subSequenceNumber":0}"#, false),
        (#"{"sequenceNumber":"1","approximateArrivalTimestamp":1476889707000123}"#, true),
        (#"{"sequenceNumber":"1","approximateArrivalTimestamp":14768897070001234567}"#, false),
        (#"{"sequenceNumber":"1","subSequenceNumber":1.5}"#, false),
        (#"{}"#, true),
    ])
    func fastPathAgrees(record: String, fast: Bool) throws {
        let bytes = Array(record.utf8)
        let fields = bytes.withUnsafeBytes { RecordFastPath.parse($0, at: 0) }
        #expect((fields != nil) == fast, "the fast reader takes only plain compact records")
        if let fields { #expect(fields.end == bytes.count) }
        let line = #"{"action":"processRecords","records":[\#(record)]}"#
        let viaDecoder: Result<DaemonMessage, MLDError> = Result { () throws(MLDError) in try Self.decode(line) }
        // Whatever path took it, the outcome is the general parser's: compare with a line whose
        // record is padded so the fast reader cannot take it.
        let padded = #"{"action":"processRecords","records":[\#(record.dropLast())\#(record.count > 2 ? "," : "")"zz\u0041":0}]}"#
        let viaGeneral: Result<DaemonMessage, MLDError> = Result { () throws(MLDError) in try Self.decode(padded) }
        switch (viaDecoder, viaGeneral) {
        case (.success(let a), .success(let b)): #expect(a == b)
        case (.failure(let a), .failure(let b)):
            if case .invalidJSON(let left) = a.kind, case .invalidJSON(let right) = b.kind {
                #expect(left.message == right.message, "the padded line only shifts offsets")
            } else {
                #expect(a.kind == b.kind)
            }
        default: Issue.record("the two paths disagree: \(viaDecoder) vs \(viaGeneral)")
        }
    }

    @Test("the fast reader finds a string's end or escape at every offset of its 32- and 16-byte scans")
    func fastPathStringBoundaries() throws {
        for length in 0..<100 {
            let plain = String(repeating: "7", count: length)
            let record = #"{"sequenceNumber":"1\#(plain)","data":"\#(plain)","partitionKey":"\#(plain)"}"#
            let bytes = Array(record.utf8)
            let fields = try #require(bytes.withUnsafeBytes { RecordFastPath.parse($0, at: 0) }, "length \(length)")
            #expect(fields.end == bytes.count)
            #expect(fields.data?.range.count == length && fields.partitionKey?.range.count == length)
            #expect(fields.sequenceNumber?.range.count == length + 1)
            // An escape anywhere sends the record to the general parser.
            for escapeAt in 0..<length {
                var escaped = Array(plain.utf8)
                escaped[escapeAt] = UInt8(ascii: "\\")
                escaped.insert(UInt8(ascii: "n"), at: escapeAt + 1)
                let text = #"{"data":"\#(String(decoding: escaped, as: UTF8.self))"}"#
                #expect(Array(text.utf8).withUnsafeBytes { RecordFastPath.parse($0, at: 0) } == nil, "escape at \(escapeAt)")
            }
        }
        // An unterminated string is not taken either.
        #expect(Array(#"{"data":"abcdefghijklmnop"#.utf8).withUnsafeBytes { RecordFastPath.parse($0, at: 0) } == nil)
    }

    @Test("the word-at-a-time escape check agrees with a byte-by-byte one for every byte at every offset")
    func escapeCheck() {
        for length in 1..<20 {
            let plain = [UInt8](repeating: UInt8(ascii: "k"), count: length)
            #expect(!plain.withUnsafeBytes(ProcessRecordsWriter.needsEscaping))
            for position in 0..<length {
                for byte in UInt8.min...UInt8.max {
                    var text = plain
                    text[position] = byte
                    let expected = byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                    if text.withUnsafeBytes(ProcessRecordsWriter.needsEscaping) != expected {
                        Issue.record("byte \(byte) at \(position) of \(length)")
                    }
                }
            }
        }
    }

    @Test("processRecords lines from the writer parse back to the same records")
    func writerRoundTrip() throws {
        var writer = ProcessRecordsWriter(buffer: ByteBuffer())
        var expected: [MLDRecord] = []
        let keys = ["plain-key", "quote\"inside-a-longer-key", "tab\there", "back\\slash", "ünïcödé"]
        for n in 0..<40 {
            let data = [UInt8]((0..<(n * 7 % 23)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ n) })
            let key = n % 6 == 5 ? nil : keys[n % 6 % keys.count]
            let sequence = "4959" + String(repeating: "0", count: n % 50) + String(n)
            let timestamp: Int64? = n % 7 == 6 ? nil : 1_795_779_393_000 + Int64(n / 4)  // repeats, changes, is absent
            let record = MLDRecord(data: data, partitionKey: key, sequenceNumber: sequence,
                                   subSequenceNumber: n % 3 == 0 ? nil : Int64(n), approximateArrivalTimestamp: timestamp)
            expected.append(record)
            let keyBytes = key.map { Array($0.utf8) }
            data.withUnsafeBytes { raw in
                Array(sequence.utf8).withUnsafeBytes { digits in
                    if let keyBytes {
                        keyBytes.withUnsafeBytes { writer.append(data: raw, partitionKey: $0, sequenceNumber: digits,
                                                                 subSequenceNumber: record.subSequenceNumber, approximateArrivalTimestamp: timestamp) }
                    } else {
                        writer.append(data: raw, partitionKey: nil, sequenceNumber: digits,
                                      subSequenceNumber: record.subSequenceNumber, approximateArrivalTimestamp: timestamp)
                    }
                }
            }
        }
        let line = writer.finish(millisBehindLatest: 12)
        #expect(try Self.decode(String(buffer: line)) == .processRecords(records: expected, millisBehindLatest: 12))
    }

    @Test("invalid lines are typed errors that show the line")
    func invalidLines() {
        func kind(_ line: String) -> MLDError.Kind? {
            do {
                _ = try Self.decode(line)
                return nil
            } catch {
                #expect(error.snippet.hasPrefix(String(line.prefix(20))))
                return error.kind
            }
        }
        #expect(kind(#"{"action":"processRecords","records":[{"data":"AA"#) == .invalidJSON(JSONError("unterminated string", at: 46)))
        #expect(kind(#"{"action":"bogus"}"#) == .unknownAction("bogus"))
        #expect(kind(#"{"shardId":"x"}"#) == .missingAction)
        #expect(kind(#"{"action":"initialize"}"#) == .missingField("shardId"))
        #expect(kind(#"{"action":"shutdown"}"#) == .missingField("reason"))
        #expect(kind(#"{"action":"processRecords"}"#) == .missingField("records"))
        #expect(kind(#"{"action":"leaseLost","records":[]}"#) == .unexpectedKey("records"))
        #expect(kind("not json at all") == .invalidJSON(JSONError("expected '{'", at: 0)))
        #expect(kind(#"{"action":"leaseLost"} trailing"#) == .invalidJSON(JSONError("unexpected bytes after the JSON value", at: 23)))
        guard case .invalidJSON(let error)? = kind(#"{"action":"processRecords","records":[{"data":"!!!!","sequenceNumber":"1"}]}"#) else {
            Issue.record("bad base64 accepted")
            return
        }
        #expect(error.message.contains("record 0"))
        #expect(error.message.contains("invalid base64 character '!'"))
        guard case .invalidJSON(let error2)? = kind(#"{"action":"processRecords","records":[{"data":"","sequenceNumber":"12a"}]}"#) else {
            Issue.record("non-numeric sequence number accepted")
            return
        }
        #expect(error2.message.contains("decimal digits"))
    }

    @Test("the error message names the line number when the reader sets it")
    func errorDescription() {
        var error = MLDError(.unknownAction("bogus"), snippet: #"{"action":"bogus"}"#)
        error.lineNumber = 7
        #expect(error.description == #"line 7: unknown action "bogus" in: {"action":"bogus"}"#)
    }

    @Test("the streaming parser hands borrowed record views in order")
    func streamingVisitor() throws {
        let line = Array(#"{"action":"processRecords","records":[{"data":"YQ==","partitionKey":"k1","sequenceNumber":"1","subSequenceNumber":0},{"data":"","partitionKey":"k2","sequenceNumber":"2","subSequenceNumber":1,"approximateArrivalTimestamp":5}],"millisBehindLatest":10}"#.utf8)
        var seen: [String] = []
        let parsed = try line.withUnsafeBytes { raw in
            try MLDDecoder.parseDaemonMessage(raw) { view in
                seen.append([
                    String(decoding: view.base64Data, as: UTF8.self),
                    String(decoding: view.partitionKey!, as: UTF8.self),
                    String(decoding: view.sequenceNumber, as: UTF8.self),
                    "\(view.subSequenceNumber!)",
                    "\(view.approximateArrivalTimestamp.map(String.init) ?? "nil")",
                ].joined(separator: ","))
            }
        }
        #expect(parsed == .processRecords(recordCount: 2, millisBehindLatest: 10))
        #expect(seen == ["YQ==,k1,1,0,nil", ",k2,2,1,5"])
    }

    // MARK: Child side output

    @Test("child messages carry only the documented keys, nulls explicit")
    func childLines() {
        #expect(MLDEncoder.line(.status(responseFor: .processRecords)) == "{\"action\":\"status\",\"responseFor\":\"processRecords\"}\n")
        #expect(MLDEncoder.line(.checkpoint(sequenceNumber: "456", subSequenceNumber: nil))
            == "{\"action\":\"checkpoint\",\"sequenceNumber\":\"456\",\"subSequenceNumber\":null}\n")
        #expect(MLDEncoder.line(.checkpoint(sequenceNumber: "456", subSequenceNumber: 2))
            == "{\"action\":\"checkpoint\",\"sequenceNumber\":\"456\",\"subSequenceNumber\":2}\n")
        #expect(MLDEncoder.line(.checkpoint(sequenceNumber: nil, subSequenceNumber: nil))
            == "{\"action\":\"checkpoint\",\"sequenceNumber\":null,\"subSequenceNumber\":null}\n")
    }

    // MARK: Daemon side

    @Test("the daemon side reads child lines as kclpy writes them")
    func daemonReadsChildLines() throws {
        #expect(try MLDDecoder.decodeChildMessage(Array(#"{"action": "status", "responseFor": "initialize"}"#.utf8))
            == .status(responseFor: .initialize))
        #expect(try MLDDecoder.decodeChildMessage(Array(#"{"action": "checkpoint", "sequenceNumber": "456", "subSequenceNumber": null}"#.utf8))
            == .checkpoint(sequenceNumber: "456", subSequenceNumber: nil))
        #expect(try MLDDecoder.decodeChildMessage(Array(#"{"action":"checkpoint","sequenceNumber":"1","subSequenceNumber":0,"error":null}"#.utf8))
            == .checkpoint(sequenceNumber: "1", subSequenceNumber: 0))
    }

    @Test("the daemon side rejects what Jackson would: unknown keys, the pre-1.7.2 key, other actions")
    func daemonRejectsChildLines() {
        func kind(_ line: String) -> MLDError.Kind? {
            do {
                _ = try MLDDecoder.decodeChildMessage(Array(line.utf8))
                return nil
            } catch { return error.kind }
        }
        #expect(kind(#"{"action":"checkpoint","checkpoint":"456"}"#) == .unexpectedKey("checkpoint"))
        #expect(kind(#"{"action":"status"}"#) == .missingField("responseFor"))
        #expect(kind(#"{"action":"initialize","shardId":"x"}"#) == .unexpectedKey("shardId"))
        #expect(kind(#"{"action":"processRecords"}"#) == .unknownAction("processRecords"))
        #expect(kind("Record (Partition Key: a") == .invalidJSON(JSONError("expected '{'", at: 0)))
    }

    @Test("daemon messages are shaped like the Java daemon's and parse back")
    func daemonLines() throws {
        let messages: [DaemonMessage] = [
            .initialize(shardId: "shardId-000000000000", sequenceNumber: "TRIM_HORIZON", subSequenceNumber: nil),
            .processRecords(records: [
                MLDRecord(data: Array("meow".utf8), partitionKey: "cat", sequenceNumber: "456", subSequenceNumber: 0, approximateArrivalTimestamp: 1_476_889_707_000),
                MLDRecord(data: [], partitionKey: nil, sequenceNumber: "457", subSequenceNumber: nil, approximateArrivalTimestamp: nil),
            ], millisBehindLatest: 0),
            .checkpoint(sequenceNumber: "456", subSequenceNumber: 0, error: CheckpointError(name: "ThrottlingException")),
            .checkpoint(sequenceNumber: nil, subSequenceNumber: nil, error: nil),
            .leaseLost, .shardEnded, .shutdownRequested, .shutdown(reason: .terminate),
        ]
        for message in messages {
            let line = MLDEncoder.line(message)
            #expect(line.hasSuffix("\n"))
            #expect(try Self.decode(String(line.dropLast())) == message)
        }
        #expect(MLDEncoder.line(messages[1]) == #"{"action":"processRecords","records":[{"action":"record","data":"bWVvdw==","partitionKey":"cat","sequenceNumber":"456","subSequenceNumber":0,"approximateArrivalTimestamp":1476889707000},{"action":"record","data":"","partitionKey":null,"sequenceNumber":"457","subSequenceNumber":null,"approximateArrivalTimestamp":null}],"millisBehindLatest":0}"# + "\n")
        #expect(MLDEncoder.line(messages[2]) == #"{"action":"checkpoint","sequenceNumber":"456","subSequenceNumber":0,"error":"ThrottlingException"}"# + "\n")
        #expect(MLDEncoder.line(.shardEnded) == "{\"action\":\"shardEnded\"}\n")
    }
}
