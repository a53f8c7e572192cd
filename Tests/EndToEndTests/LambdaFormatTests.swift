import Foundation
import Testing

/// `--exec-format lambda`: unchanged Lambda handlers (Python and Node.js) behind the shims in
/// Examples/Lambda.
extension EndToEnd {
    /// Records `{"n": i}`, some marked FAIL_ONCE (failed by sequence number the first time) and
    /// one RAISE_ONCE (the handler raises: the whole batch fails once).
    static func lambdaRecords(count: Int) -> [(key: String, data: [UInt8])] {
        (0..<count).map { n in
            let mark = n == 100 ? "RAISE_ONCE" : (n % 37 == 0 ? "FAIL_ONCE" : "")
            return ("key-\(n % 20)", Array(#"{"n":\#(n),"mark":"\#(mark)"}"#.utf8))
        }
    }

    @Test("an unchanged Kinesis Lambda handler (Python, Node.js) runs behind the shim: every record handled, partial failures and a raising handler retried, its logs kept off the replies", arguments: ["python", "node"])
    func lambdaHandler(language: String) throws {
        let harness = try Harness("lambda-\(language)")
        defer { harness.remove() }
        try harness.writeRecords(Self.lambdaRecords(count: 400), to: "orders.jsonl")
        let shim: String
        if language == "python" {
            try FileManager.default.copyItem(atPath: Harness.fixtures + "/lambda_handler.py", toPath: harness.path("lambda_handler.py"))
            shim = "python3 \(Harness.repository)/Examples/Lambda/python/shardflow_lambda.py lambda_handler.handler"
        } else {
            try FileManager.default.copyItem(atPath: Harness.fixtures + "/lambda_handler.js", toPath: harness.path("lambda_handler.js"))
            shim = "node \(Harness.repository)/Examples/Lambda/node/shardflow-lambda.js lambda_handler.handler"
        }
        let result = try harness.launch([
            "--source", "file:orders.jsonl", "--shards", "2", "--reducers", "2", "--mappers", "1", "--state", "state",
            "--processor", "exec:" + shim, "--exec-format", "lambda", "--retry-delay", "10ms", "--child-log-level", "error",
        ], environment: ["OUTPUT": harness.path("handled.jsonl"), "AWS_REGION": "eu-west-1"])
        #expect(result.status == 0, "\(result.stderr.suffix(3000))")
        let lines = try String(contentsOfFile: harness.path("handled.jsonl"), encoding: .utf8).split(separator: "\n")
        let entries = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let numbers = try entries.map { entry -> Int in
            let record = try JSONSerialization.jsonObject(with: Data((entry["text"] as! String).utf8)) as! [String: Any]
            return record["n"] as! Int
        }
        #expect(Set(numbers) == Set(0..<400), "every record handled")
        // At least once: a record is handled again only when an earlier record of its key
        // failed (the later ones of that key are retried after it, in order, as Lambda does).
        let marked = Set((0..<400).filter { $0 == 100 || $0 % 37 == 0 }.map { $0 % 20 })
        let repeated = Dictionary(grouping: numbers, by: { $0 }).filter { $0.value.count > 1 }.keys
        #expect(repeated.allSatisfy { marked.contains($0 % 20) }, "repeats only behind a failure: \(repeated.sorted())")
        #expect(entries.allSatisfy { $0["source"] as? String == "arn:aws:kinesis:eu-west-1:000000000000:stream/orders" && $0["remaining"] as? Bool == true })
        #expect(result.stdout.contains("retried"), "\(result.stdout)")
        #expect(!result.stdout.contains(" 0 retried"), "failed records were retried: \(result.stdout)")
        #expect(result.stderr.contains("handled "), "the handler's log lines reach stderr")
        #expect(result.stderr.contains("cannot handle"), "the raised error is logged")
    }

    @Test("--exec-format lambda with --extract dynamodb: the handler gets DynamoDB Streams records and fails them by dynamodb.SequenceNumber")
    func lambdaDynamoDB() throws {
        let harness = try Harness("lambda-ddb")
        defer { harness.remove() }
        var (records, _) = Self.dynamoDBChanges(count: 300, items: 30, seed: 7)
        // Mark some new images to fail once.
        records = records.enumerated().map { index, record in
            index % 29 == 0 ? (record.key, Array(String(decoding: record.data, as: UTF8.self)
                .replacingOccurrences(of: #""version":"#, with: #""mark":{"S":"FAIL_ONCE"},"version":"#).utf8)) : record
        }
        try harness.writeRecords(records, to: "table.jsonl")
        try FileManager.default.copyItem(atPath: Harness.fixtures + "/lambda_handler.py", toPath: harness.path("lambda_handler.py"))
        let result = try harness.launch([
            "--source", "file:table.jsonl", "--shards", "1", "--reducers", "2", "--mappers", "1", "--state", "state",
            "--extract", "dynamodb", "--exec-format", "lambda", "--retry-delay", "10ms",
            "--processor", "exec:python3 \(Harness.repository)/Examples/Lambda/python/shardflow_lambda.py lambda_handler.handler",
        ], environment: ["OUTPUT": harness.path("handled.jsonl")])
        #expect(result.status == 0, "\(result.stderr.suffix(3000))")
        let entries = try String(contentsOfFile: harness.path("handled.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let identifiers = entries.compactMap { $0["id"] as? String }
        #expect(Set(identifiers) == Set((1...300).map { String(format: "%021d", $0) }), "every change handled: \(Set(identifiers).count)")
        #expect(entries.allSatisfy { ($0["source"] as? String)?.hasPrefix("arn:aws:dynamodb:") == true })
        #expect(!result.stdout.contains(" 0 retried"), "\(result.stdout)")
    }

    @Test("--exec-format lambda needs an exec: processor")
    func lambdaFormatNeedsExec() throws {
        let harness = try Harness("lambda-usage")
        defer { harness.remove() }
        let result = try harness.launch(["--source", "generate:10", "--exec-format", "lambda", "--processor", "discard"])
        #expect(result.status == 64 && result.stderr.contains("--exec-format lambda applies to exec: processors, not to --processor discard"))
    }
}
