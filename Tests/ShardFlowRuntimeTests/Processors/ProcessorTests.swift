import Foundation
import NIOCore
import Testing

@testable import ShardFlowRuntime

@Suite("Processors")
struct ProcessorTests {
    static func item(_ record: UInt64, data: String, key: String = "k") -> ProcessorItem {
        ProcessorItem(WireItem(
            token: Token(router: 0, worker: 1, record: record, item: 0, itemCount: 1), subSequenceNumber: 2, arrivalTimestamp: 77,
            shardId: ByteBuffer(string: "shardId-000000000001"), sequenceNumber: ByteBuffer(string: "4958\(record)"),
            partitionKey: ByteBuffer(string: "pk\(record)"), key: ByteBuffer(string: key), data: ByteBuffer(string: data)))
    }

    @Test("jsonl writes one complete JSON object per item")
    func jsonLines() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let processor = try JSONLinesProcessor(directory: directory.path + "/out", reducerIndex: 3)
        #expect(try processor.process([Self.item(1, data: "one"), Self.item(2, data: "two\n\"quoted\"")]) == .success)
        try processor.close()
        let lines = try String(contentsOfFile: directory.path + "/out/reducer-3.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let object = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [String: Any]
        #expect(object["shardId"] as? String == "shardId-000000000001")
        #expect(object["sequenceNumber"] as? String == "49582")
        #expect(object["subSequenceNumber"] as? Int == 2)
        #expect(object["itemIndex"] as? Int == 0 && object["itemCount"] as? Int == 1)
        #expect(object["partitionKey"] as? String == "pk2" && object["key"] as? String == "k")
        #expect(object["approximateArrivalTimestamp"] as? Int == 77)
        #expect(Data(base64Encoded: object["data"] as! String) == Data("two\n\"quoted\"".utf8))
    }

    @Test("exec replies: Lambda-shaped failures, and every malformed reply is an error")
    func execReplies() throws {
        func parse(_ text: String, items: Int = 3, batch: Int = 1) throws -> BatchResult {
            try ExecProcessor.parseReply(Array(text.utf8), itemCount: items, batchId: batch)
        }
        #expect(try parse(#"{"batchItemFailures":[]}"#) == .success)
        #expect(try parse(#"{"batchItemFailures":[{"itemIdentifier":"2","reason":"bad"},{"itemIdentifier":0}]}"#)
            == BatchResult(failures: [2: "exec: bad", 0: "exec: failed"]))
        #expect(try parse(#"{"batchId":4,"batchItemFailures":null,"other":true}"#, batch: 4) == .success)
        for bad in [#"{"batchItemFailures":[{"itemIdentifier":"7"}]}"#, #"{"ok":true}"#, "not json",
                    #"{"batchId":3,"batchItemFailures":[]}"#] {
            #expect(throws: (any Error).self, "\(bad)") { try parse(bad) }
        }
        // The messages show what was wrong.
        #expect { try parse(#"{"batchItemFailures":[{"itemIdentifier":"7"}]}"#) } throws: {
            "\($0)".contains(#"itemIdentifier "7" is not one of this batch's items (0 to 2)"#)
        }
        #expect { try parse("processing batch 1…") } throws: {
            "\($0)".contains("a line on stdout that is not a reply? logs belong on stderr")
        }
    }

    @Test("exec --exec-format lambda: the batch is a Kinesis Lambda event; failures name records by sequence number")
    func execLambdaFormat() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Saves each event it gets and fails the record with sequence number 49582, then names one
        // that is not in the batch.
        let script = try directory.write("""
            read line; printf '%s\\n' "$line" > "$0.event"; echo '{"batchItemFailures":[{"itemIdentifier":"49582"}]}'
            read line; echo '{"batchItemFailures":[{"itemIdentifier":"12345"}]}'
            """, to: "child.sh")
        let processor = ExecProcessor(command: "sh \(script)", reducerIndex: 0, format: .lambda)
        let batch = [Self.item(1, data: "a"), Self.item(2, data: "b"), Self.item(3, data: "c")]
        #expect(try processor.process(batch) == BatchResult(failures: [1: "exec: failed"]))
        let event = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: script + ".event"))) as! [String: Any]
        let records = try #require(event["Records"] as? [[String: Any]])
        #expect(records.count == 3)
        let kinesis = try #require(records[0]["kinesis"] as? [String: Any])
        #expect(kinesis["sequenceNumber"] as? String == "49581" && kinesis["partitionKey"] as? String == "pk1")
        #expect(Data(base64Encoded: kinesis["data"] as! String) == Data("a".utf8))
        #expect((kinesis["approximateArrivalTimestamp"] as? Double) == 0.077, "seconds, as Lambda sends it")
        #expect(records[0]["eventSource"] as? String == "aws:kinesis" && records[0]["eventName"] as? String == "aws:kinesis:record")
        #expect(records[0]["eventID"] as? String == "shardId-000000000001:49581")
        #expect((records[0]["eventSourceARN"] as? String)?.hasPrefix("arn:aws:kinesis:") == true)
        #expect { try processor.process(batch) } throws: {
            "\($0)".contains(#"itemIdentifier "12345" is not the sequence number of a record in this batch"#)
        }
        try processor.close()
    }

    @Test("exec: a child that dies fails the batch and is restarted for the next one")
    func execRestart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Answers the first batch, exits on the second, answers again once restarted.
        let script = try directory.write("""
            read line; echo '{"batchItemFailures":[]}'
            if [ -e "$0.crashed" ]; then read line; echo '{"batchItemFailures":[{"itemIdentifier":"0"}]}'; exit 0; fi
            touch "$0.crashed"; read line; exit 1
            """, to: "child.sh")
        let processor = ExecProcessor(command: "sh \(script)", reducerIndex: 0)
        #expect(try processor.process([Self.item(1, data: "a")]) == .success)
        #expect(throws: (any Error).self) { try processor.process([Self.item(2, data: "b")]) }
        #expect(try processor.process([Self.item(3, data: "c")]) == .success, "a new child answers")
        #expect(try processor.process([Self.item(4, data: "d")]) == BatchResult(failures: [0: "exec: failed"]))
        try processor.close()
    }

    @Test("spin burns at least the requested CPU time per item")
    func spin() throws {
        let processor = SpinProcessor(microseconds: 100)
        let before = SpinProcessor.threadCPUTime()
        _ = try processor.process((0..<20).map { Self.item($0, data: "x") })
        let spent = SpinProcessor.threadCPUTime() - before
        #expect(spent >= 20 * 100_000 - 20 * SpinProcessor.clockReadCost, "spent \(spent) ns of CPU for 20 × 100 µs")
    }
}
