import Foundation
import ShardFlowTestKit
import Testing

/// Per-key order for keys inside the data, canonical keys, DynamoDB Streams changes with a
/// filter, the record age limit and several streams in one run.
extension EndToEnd {
    /// DynamoDB Streams changes as the Kinesis adapter delivers them, for `items` table items with
    /// composite keys: each item's first change is an INSERT, later ones MODIFY or now and then
    /// REMOVE (after which it is inserted again). `Keys` lists its attributes in a random order
    /// with random spacing. `eventID` is the change's position in the stream.
    static func dynamoDBChanges(count: Int, items: Int, seed: UInt64) -> (records: [(key: String, data: [UInt8])], removes: Int) {
        var generator = SeededGenerator(seed: seed)
        var versions = [Int](repeating: 0, count: items)
        var present = [Bool](repeating: false, count: items)
        var removes = 0
        let records = (0..<count).map { n -> (key: String, data: [UInt8]) in
            let item = Int(generator.next() % UInt64(items))
            versions[item] += 1
            let name: String
            if !present[item] {
                name = "INSERT"
                present[item] = true
            } else if generator.next() % 10 == 0 {
                name = "REMOVE"
                present[item] = false
                removes += 1
            } else {
                name = "MODIFY"
            }
            let space = generator.next() % 2 == 0 ? "" : " "
            let members = [#""pk":\#(space){"S":"customer#\#(item % 40)"}"#, #""sk":{\#(space)"N":"\#(item)"}"#]
            let keys = "{" + (generator.next() % 2 == 0 ? members : members.reversed()).joined(separator: "," + space) + "}"
            let image = { (version: Int) in #"{"pk":{"S":"customer#\#(item % 40)"},"sk":{"N":"\#(item)"},"version":{"N":"\#(version)"}}"# }
            var change = #""Keys":\#(keys),"SequenceNumber":"\#(String(format: "%021d", n + 1))","StreamViewType":"NEW_AND_OLD_IMAGES""#
            if name != "REMOVE" { change += #","NewImage":\#(image(versions[item]))"# }
            if name != "INSERT" { change += #","OldImage":\#(image(versions[item] - 1))"# }
            let json = #"{"eventID":"\#(n)","eventName":"\#(name)","eventSource":"aws:dynamodb","awsRegion":"eu-west-1","dynamodb":{\#(change)}}"#
            return ("table", Array(json.utf8))
        }
        return (records, removes)
    }

    /// Items of the output whose `eventID` comes before that of an earlier item of their key.
    static func orderViolations(_ objects: [(file: String, object: [String: Any])]) -> Int {
        var last: [String: Int] = [:]
        var violations = 0
        for (_, object) in objects {
            let change = try! JSONSerialization.jsonObject(with: Data(base64Encoded: object["data"] as! String)!) as! [String: Any]
            let event = Int(change["eventID"] as! String)!
            let key = object["key"] as! String
            if let previous = last[key], event < previous { violations += 1 }
            last[key] = max(event, last[key] ?? event)
        }
        return violations
    }

    @Test("DynamoDB changes, one shard, two mappers, two reducers: every table item's changes in stream order, keys canonical; --ordering none shows what the order costs")
    func dynamoDBOrder() throws {
        let harness = try Harness("ddb-order")
        defer { harness.remove() }
        let (records, _) = Self.dynamoDBChanges(count: 30000, items: 400, seed: 11)
        try harness.writeRecords(records, to: "changes.jsonl")
        var violations: [String: Int] = [:]
        for ordering in ["key", "none"] {
            let result = try harness.launch([
                "--source", "file:changes.jsonl", "--shards", "1", "--mappers", "2", "--reducers", "2", "--extract", "dynamodb",
                "--ordering", ordering, "--records-per-batch", "500", "--state", "state-\(ordering)", "--processor", "jsonl:out-\(ordering)",
            ])
            #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
            let objects = try harness.outputObjects(in: "out-\(ordering)")
            #expect(objects.count == records.count, "every change once in a clean run")
            violations[ordering] = Self.orderViolations(objects)
            // Canonical keys: each table item's changes went to one reducer under one key.
            let filesOfItem = Dictionary(grouping: objects, by: { ($0.object["keys"] as! [String: Any])["sk"].map { "\($0)" } ?? "" })
                .mapValues { Set($0.map(\.file)).count }
            #expect(filesOfItem.count == 400 && filesOfItem.values.allSatisfy { $0 == 1 }, "an item's key never splits over reducers")
            #expect(Set(objects.map { $0.object["key"] as! String }).count == 400, "one key per item, whatever the attribute order")
        }
        #expect(violations["key"] == 0, "per-key order by default: \(violations)")
        print("order violations over 30,000 DynamoDB changes, 1 shard, 2 mappers, 2 reducers: --ordering key \(violations["key"]!), --ordering none \(violations["none"]!)")
    }

    @Test("--extract dynamodb with --filter: processors get event name, keys, images and sequence number; filtered REMOVEs are completed, counted, never processed")
    func dynamoDBFilter() throws {
        let harness = try Harness("ddb-filter")
        defer { harness.remove() }
        let (records, removes) = Self.dynamoDBChanges(count: 3000, items: 50, seed: 5)
        #expect(removes > 50)
        try harness.writeRecords(records, to: "changes.jsonl")
        let result = try harness.launch([
            "--source", "table=file:changes.jsonl", "--shards", "2", "--reducers", "2", "--extract", "dynamodb",
            "--filter", #"{"eventName": ["INSERT"]}"#, "--filter", #"{"dynamodb": {"OldImage": {"version": {"N": [{"prefix": "1"}]}}}}"#,
            "--state", "state", "--processor", "jsonl:out", "--stats-json", "stats.json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        let objects = try harness.outputObjects(in: "out").map(\.object)
        let changes = records.map { try! JSONSerialization.jsonObject(with: Data($0.data)) as! [String: Any] }
        let kept = changes.filter { change in
            let old = ((change["dynamodb"] as! [String: Any])["OldImage"] as? [String: Any])?["version"] as? [String: String]
            return change["eventName"] as! String == "INSERT" || old?["N"]?.hasPrefix("1") == true
        }
        #expect(objects.count == kept.count, "only matching changes are processed")
        #expect(Set(objects.map { $0["eventName"] as! String }).isSubset(of: ["INSERT", "MODIFY", "REMOVE"]))
        for object in objects {
            let change = try JSONSerialization.jsonObject(with: Data(base64Encoded: object["data"] as! String)!) as! [String: Any]
            let dynamodb = change["dynamodb"] as! [String: Any]
            #expect(object["stream"] as? String == "table")
            #expect(object["eventName"] as? String == change["eventName"] as? String)
            #expect(object["streamSequenceNumber"] as? String == dynamodb["SequenceNumber"] as? String)
            #expect(NSDictionary(dictionary: object["keys"] as! [String: Any]).isEqual(to: dynamodb["Keys"] as! [String: Any]))
            #expect((object["newImage"] is NSNull) == (dynamodb["NewImage"] == nil))
            #expect((object["oldImage"] is NSNull) == (dynamodb["OldImage"] == nil))
        }
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: harness.path("stats.json")))) as! [String: Any]
        #expect(stats["itemsFiltered"] as? Int == records.count - kept.count)
        #expect(result.stdout.replacingOccurrences(of: ",", with: "").contains("\(records.count - kept.count) filtered out by --filter"))
        #expect(try harness.checkpoints(in: "state", stream: "table").values.allSatisfy { $0 == "SHARD_END" }, "filtered changes count as complete")
        let invalid = try harness.launch(["--source", "file:changes.jsonl", "--filter", #"{"eventName": "INSERT"}"#])
        #expect(invalid.status == 64 && invalid.stderr.contains("at /eventName: expected a list of matchers such as [\"INSERT\"]"), "\(invalid.stderr)")
    }

    @Test("--max-record-age: records older than the limit go to the dead-letter sink as expired; without a sink the run refuses to start")
    func maxRecordAge() throws {
        let harness = try Harness("record-age")
        defer { harness.remove() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var text = ""
        for n in 0..<200 {
            let arrival = n % 2 == 0 ? now - 2 * 3_600_000 : now - 60_000
            let data = Data("record \(n)".utf8).base64EncodedString()
            text += #"{"partitionKey":"k\#(n % 20)","data":"\#(data)","approximateArrivalTimestamp":\#(arrival)}"# + "\n"
        }
        try text.write(toFile: harness.path("input.jsonl"), atomically: true, encoding: .utf8)
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "2", "--max-record-age", "1h", "--dead-letter", "dead",
            "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        #expect(try harness.outputItems(in: "out").count == 100)
        let letters = try FileManager.default.contentsOfDirectory(atPath: harness.path("dead")).flatMap { file in
            try String(contentsOfFile: harness.path("dead/" + file), encoding: .utf8).split(separator: "\n")
                .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        }
        #expect(letters.count == 100 && letters.allSatisfy { $0["reason"] as? String == "expired" })
        #expect(result.stdout.contains("100 dead-lettered of which 100 expired"))
        #expect(try harness.checkpoints(in: "state").values.allSatisfy { $0 == "SHARD_END" })
        let refused = try harness.launch(["--source", "file:input.jsonl", "--max-record-age", "1h"])
        #expect(refused.status == 64 && refused.stderr.contains("--max-record-age needs --dead-letter DIR"), "\(refused.stderr)")
    }

    @Test("two streams in one run: every item names its stream; checkpoints are kept per stream and a rerun resumes both")
    func twoStreams() throws {
        let harness = try Harness("two-streams")
        defer { harness.remove() }
        try harness.writeRecords(Harness.sampleRecords(count: 300, keys: 30), to: "orders.jsonl")
        try harness.writeRecords(Harness.sampleRecords(count: 200, keys: 20), to: "users.jsonl")
        let arguments = [
            "--source", "file:orders.jsonl", "--source", "people=file:users.jsonl", "--shards", "2", "--reducers", "2",
            "--state", "state", "--processor", "jsonl:out",
        ]
        let first = try harness.launch(arguments)
        #expect(first.status == 0, "stderr: \(first.stderr.suffix(2000))")
        let items = try harness.outputItems(in: "out")
        #expect(items.filter { $0.stream == "orders" }.count == 300 && items.filter { $0.stream == "people" }.count == 200)
        #expect(try harness.checkpoints(in: "state", stream: "orders").count == 2)
        #expect(try harness.checkpoints(in: "state", stream: "people").values.allSatisfy { $0 == "SHARD_END" })
        #expect(first.stdout.contains("state/orders/checkpoints.json: 2 of 2 shards at SHARD_END"))
        #expect(first.stdout.contains("state/people/checkpoints.json: 2 of 2 shards at SHARD_END"))
        let again = try harness.launch(arguments)
        let afterRerun = try harness.outputItems(in: "out").count
        #expect(again.status == 0 && afterRerun == 500, "both streams resume at SHARD_END: nothing again")
        let clash = try harness.launch(["--source", "file:orders.jsonl", "--source", "file:other/orders.jsonl"])
        #expect(clash.status == 64 && clash.stderr.contains("are both stream \"orders\""), "\(clash.stderr)")
    }
}
