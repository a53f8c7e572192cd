import Foundation
import Testing

extension EndToEnd {
    /// Items the exec fixture accepted, as (sequenceNumber, itemIndex, data).
    static func execOutput(_ path: String) throws -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    @Test("exec: failed items are retried, and a child that dies is restarted without losing items")
    func execRetriesAndRestarts() throws {
        let harness = try Harness("exec")
        defer { harness.remove() }
        var records = Harness.sampleRecords(count: 600, keys: 30)
        for n in stride(from: 5, to: 600, by: 50) { records[n].data = Array("FAIL_ONCE record \(n)".utf8) }
        try harness.writeRecords(records, to: "input.jsonl")
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "1", "--batch-size", "50",
            "--state", "state", "--processor", "exec:python3 \(Harness.fixtures)/exec_processor.py",
            "--log-level", "info", "--child-log-level", "warning",
        ], environment: ["OUTPUT": harness.path("accepted.jsonl"), "EXIT_AFTER": "4"])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(3000))")
        let accepted = try Self.execOutput(harness.path("accepted.jsonl"))
        let data = Set(accepted.map { [UInt8](Data(base64Encoded: $0["data"] as! String)!) })
        #expect(data == Set(records.map(\.data)), "every item accepted in the end")
        #expect(result.stderr.contains("exiting on purpose at batch 4"))
        #expect(result.stderr.contains("is restarted for the next batch"))
        #expect(result.stderr.contains("items failed (attempt 1): exec: rejected by the test processor; retrying"))
        // Lambda-shaped input: every item carries its identifier and the record's metadata.
        let first = try #require(accepted.first)
        for key in ["itemIdentifier", "shardId", "sequenceNumber", "subSequenceNumber", "itemIndex", "itemCount", "partitionKey", "key", "data"] {
            #expect(first[key] != nil, "exec items carry \(key)")
        }
    }

    @Test("items that keep failing go to the dead-letter sink after --retries, and the run completes")
    func deadLetter() throws {
        let harness = try Harness("deadletter")
        defer { harness.remove() }
        var records = Harness.sampleRecords(count: 200, keys: 10)
        records[17].data = Array("FAIL_ALWAYS 17".utf8)
        records[150].data = Array("FAIL_ALWAYS 150".utf8)
        try harness.writeRecords(records, to: "input.jsonl")
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "1", "--reducers", "1", "--retries", "2",
            "--dead-letter", "dead", "--state", "state",
            "--processor", "exec:python3 \(Harness.fixtures)/exec_processor.py",
        ], environment: ["OUTPUT": harness.path("accepted.jsonl")])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(3000))")
        #expect(result.stdout.contains("2 dead-lettered"))
        let dead = try String(contentsOfFile: harness.path("dead/dead-letter-reducer-0.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(Set(dead.map { String(decoding: Data(base64Encoded: $0["data"] as! String)!, as: UTF8.self) })
            == ["FAIL_ALWAYS 17", "FAIL_ALWAYS 150"])
        #expect(dead.allSatisfy {
            ($0["attempts"] as? Int) == 3 && ($0["reason"] as? String) == "failed" && ($0["error"] as? String)?.contains("rejected") == true
        })
        // Items of the failing keys that ran after a failure in the same batch run again after
        // it: each of the 198 others is accepted, some more than once.
        let accepted = try Self.execOutput(harness.path("accepted.jsonl"))
        let distinct = Set(accepted.map { $0["data"] as! String })
        #expect(distinct.count == 198 && accepted.count >= 198)
        #expect(try harness.checkpoints(in: "state") == ["shardId-000000000000": "SHARD_END"])
    }
}
