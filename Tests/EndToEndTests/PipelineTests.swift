import Foundation
import ShardFlowCore
import Testing

/// The whole group, run by the built `shardflow` launcher on local-source files. Serialized:
/// each test already keeps both cores busy.
@Suite("End to end", .serialized, .timeLimit(.minutes(10)))
struct EndToEnd {}

extension EndToEnd {
    @Test("every record of a multi-shard file reaches the output, and every shard ends")
    func multiShardFile() throws {
        let harness = try Harness("multishard")
        defer { harness.remove() }
        let records = Harness.sampleRecords(count: 3000, keys: 200)
        try harness.writeRecords(records, to: "input.jsonl")
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "4", "--reducers", "2",
            "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        #expect(result.stdout.contains("4 of 4 shards at SHARD_END"))

        let items = try harness.outputItems(in: "out")
        #expect(Set(items.map(\.data)) == Set(records.map(\.data)), "every record is in the output")
        #expect(items.allSatisfy { $0.itemCount == 1 && $0.itemIndex == 0 })
        #expect(try harness.checkpoints(in: "state") == Dictionary(uniqueKeysWithValues: (0..<4).map {
            ("shardId-00000000000\($0)", "SHARD_END")
        }))
        // Each record went to the shard Kinesis would pick: MD5 of its key over 4 equal ranges.
        for item in items {
            let shard = KinesisHashKey.shardIndex(partitionKey: Array(item.partitionKey!.utf8), shardCount: 4)
            #expect(item.shardId == "shardId-00000000000\(shard)")
        }
        // Sequence numbers increase along the file within each shard.
        for (_, shardItems) in Dictionary(grouping: items, by: \.shardId) {
            let ordered = shardItems.sorted { SequenceNumber($0.sequenceNumber)! < SequenceNumber($1.sequenceNumber)! }
            let numbers = try ordered.map { item -> Int in
                let object = try JSONSerialization.jsonObject(with: Data(item.data)) as! [String: Any]
                return object["n"] as! Int
            }
            #expect(numbers == numbers.sorted())
        }

        // A second run of the same command finds every shard ended and does nothing.
        let again = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "4", "--reducers", "2",
            "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(again.status == 0)
        #expect(again.stderr.contains("already at SHARD_END"))
        #expect(try harness.outputItems(in: "out").count == items.count, "nothing processed twice")
    }

    @Test("KPL aggregates from aws-kinesis-agg yield every user record, numbered within its aggregate")
    func kplAggregates() throws {
        let harness = try Harness("kpl")
        defer { harness.remove() }
        let made = try harness.python("make_kpl_input.py", [harness.path("input.jsonl"), harness.path("expected.jsonl")])
        try #require(made.status == 0, "aws-kinesis-agg must be installed (scripts/test.sh does it): \(made.stderr)")
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "3", "--reducers", "2", "--extract", "kpl",
            "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        #expect(!result.stderr.contains("KPL digest mismatch"))

        struct Expected: Hashable { var key: String; var data: [UInt8]; var count: Int; var index: Int }
        let expected = try String(contentsOfFile: harness.path("expected.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { line -> Expected in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                return Expected(key: object["partitionKey"] as! String,
                                data: [UInt8](Data(base64Encoded: object["data"] as! String)!),
                                count: object["itemCount"] as! Int, index: object["itemIndex"] as! Int)
            }
        let items = try harness.outputItems(in: "out")
        let delivered = Set(items.map { Expected(key: $0.partitionKey!, data: $0.data, count: $0.itemCount, index: $0.itemIndex) })
        #expect(delivered == Set(expected), "every user record, with its own key, index and count")
        #expect(items.count == expected.count, "no duplicates in a clean run")
        // Items keyed by the user record's own key land in that key's reducer.
        for item in items {
            #expect(item.key == item.partitionKey)
            #expect(item.file == "reducer-\(Partitioner.partition(Array(item.key.utf8), count: 2)).jsonl")
        }
    }

    @Test("the same key always lands in the same reducer; 1 and 4 reducers give the same items")
    func reducerCountInvariance() throws {
        let harness = try Harness("reducers")
        defer { harness.remove() }
        let records = Harness.sampleRecords(count: 2000, keys: 150)
        try harness.writeRecords(records, to: "input.jsonl")
        for (reducers, output) in [(1, "out1"), (4, "out4")] {
            let result = try harness.launch([
                "--source", "file:input.jsonl", "--shards", "2", "--reducers", String(reducers),
                "--state", "state-\(reducers)", "--processor", "jsonl:\(output)",
            ])
            #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        }
        let one = try harness.outputItems(in: "out1")
        let four = try harness.outputItems(in: "out4")
        struct Identity: Hashable { var shard: String; var sequence: String; var index: Int; var data: [UInt8] }
        #expect(Set(one.map { Identity(shard: $0.shardId, sequence: $0.sequenceNumber, index: $0.itemIndex, data: $0.data) })
            == Set(four.map { Identity(shard: $0.shardId, sequence: $0.sequenceNumber, index: $0.itemIndex, data: $0.data) }))
        #expect(Set(one.map(\.file)) == ["reducer-0.jsonl"])
        let filesByKey = Dictionary(grouping: four, by: \.key).mapValues { Set($0.map(\.file)) }
        for (key, files) in filesByKey {
            #expect(files == ["reducer-\(Partitioner.partition(Array(key.utf8), count: 4)).jsonl"], "key \(key)")
        }
        #expect(Set(four.map(\.file)).count == 4, "150 keys spread over all 4 reducers")
    }

    @Test("over two mappers, each key's items reach the output in their shard's order by default; the old --key-ordered only warns")
    func keyOrdered() throws {
        let harness = try Harness("keyordered")
        defer { harness.remove() }
        let records = Harness.sampleRecords(count: 6000, keys: 40)
        try harness.writeRecords(records, to: "input.jsonl")
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "2", "--mappers", "2", "--reducers", "2", "--key-ordered",
            "--records-per-batch", "100", "--batch-size", "50", "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        #expect(result.stderr.contains("--key-ordered is no longer needed"))
        let items = try harness.outputItems(in: "out")
        #expect(Set(items.map(\.data)) == Set(records.map(\.data)), "every record is in the output")
        #expect(items.count == records.count, "no duplicates in a clean run")
        // Each reducer file lists items in processing order: per key, sequence numbers only grow.
        for (key, keyItems) in Dictionary(grouping: items, by: \.key) {
            #expect(Set(keyItems.map(\.file)).count == 1, "key \(key) in one reducer")
            let numbers = keyItems.map { SequenceNumber($0.sequenceNumber)! }
            #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 }, "key \(key) out of order")
        }
    }

    @Test("bad input lines are reported with file and line; every other record is processed")
    func badInput() throws {
        let harness = try Harness("badinput")
        defer { harness.remove() }
        let good = Harness.sampleRecords(count: 300, keys: 20)
        var lines = good.map { #"{"partitionKey":"\#($0.key)","data":"\#(Data($0.data).base64EncodedString())"}"# }
        lines.insert(#"{"partitionKey":"k","data":"not base64!"}"#, at: 10)       // line 11
        lines.insert(#"{"partitionKey":"k","data": "#, at: 50)                      // line 51
        lines.insert(#"{"data":"YQ=="}"#, at: 100)                                  // line 101
        lines.insert("", at: 150)                                                     // a blank line is fine
        try (lines.joined(separator: "\n") + "\n").write(toFile: harness.path("input.jsonl"), atomically: true, encoding: .utf8)
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "1",
            "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(result.status == 3, "exit 3: completed with invalid input")
        #expect(result.stderr.contains("input.jsonl:11: \"data\" is not base64"))
        #expect(result.stderr.contains("input.jsonl:51: invalid JSON"))
        #expect(result.stderr.contains("input.jsonl:101: missing or empty \"partitionKey\""))
        #expect(result.stdout.contains("3 input lines rejected (lines 11, 51, 101)"))
        #expect(Set(try harness.outputItems(in: "out").map(\.data)) == Set(good.map(\.data)))
    }

    @Test("the generate source and extract=lines with a json: key")
    func generateAndLines() throws {
        let harness = try Harness("lines")
        defer { harness.remove() }
        // Three users' events, two lines per record, one with no user id.
        let records: [(key: String, data: [UInt8])] = (0..<200).map { n in
            ("k\(n)", Array("{\"user\":{\"id\":\"u\(n % 3)\"},\"n\":\(n)}\n\r\n{\"n\":\(n),\"user\":{\"id\":\"u\(n % 3)\"}}\n".utf8))
        } + [("bad", Array("{\"n\":-1}\nnot json\n".utf8))]
        try harness.writeRecords(records, to: "input.jsonl")
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "3", "--extract", "lines",
            "--key", "json:/user/id", "--dead-letter", "dead", "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        let items = try harness.outputItems(in: "out")
        #expect(items.count == 400)
        #expect(Set(items.map(\.key)) == ["u0", "u1", "u2"])
        for (key, group) in Dictionary(grouping: items, by: \.key) {
            #expect(Set(group.map(\.file)).count == 1, "all of \(key) in one reducer")
        }
        #expect(items.allSatisfy { $0.itemCount == 2 })
        // The record whose lines lack the key: both lines dead-lettered with the reason, none lost.
        let dead = try String(contentsOfFile: harness.path("dead/dead-letter-reducer-\(Partitioner.partition(Array("bad".utf8), count: 3)).jsonl"), encoding: .utf8)
        #expect(dead.split(separator: "\n").count == 2)
        #expect(dead.contains("no value at /user"))

        let generated = try harness.launch([
            "--source", "generate:5000,size=64,keys=10", "--shards", "2", "--reducers", "2",
            "--state", "state-generate", "--processor", "jsonl:generated",
        ])
        #expect(generated.status == 0)
        let produced = try harness.outputItems(in: "generated")
        #expect(produced.count == 5000)
        #expect(Set(produced.map(\.key)).count == 10)
        #expect(produced.allSatisfy { $0.data.count == 64 })
        let ids = Set(produced.map { String(decoding: $0.data, as: UTF8.self).dropFirst(9).prefix(12) })
        #expect(ids.count == 5000, "every generated record is distinct")
    }

    @Test("--source none starts the group and prints the worker command line")
    func sourceNone() throws {
        let harness = try Harness("none")
        defer { harness.remove() }
        let running = try harness.start(["--source", "none", "--reducers", "1", "--state", "state"])
        #expect(running.waitForOutput("Ctrl-C stops the group."))
        kill(running.process.processIdentifier, SIGTERM)
        let result = running.wait()
        #expect(result.status == 143)
        #expect(result.stdout.contains("executableName = \(Harness.binDirectory)/shardflow-worker --runtime-dir \(harness.runtimeDirectory) --routers 1"))
    }
}
