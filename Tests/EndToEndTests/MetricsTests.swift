import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The scrape endpoint, `shardflow status` and stuck records, checked against what a run did:
/// a stand-in daemon feeds one shard a known number of records with a known lag, one of which
/// keeps failing; Debian's promtool lints the scraped text and a real Prometheus server scrapes
/// the group.
extension EndToEnd {
    /// A free TCP port on the loopback interface.
    static func freePort() throws -> Int {
        let harness = try Harness("port")
        defer { harness.remove() }
        let result = try harness.run("/usr/bin/env", ["python3", "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
        return Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    /// The value of one sample of `name` with these label values in an exposition (nil: none).
    static func sample(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let labelText = line.split(separator: "}").first.map(String.init) ?? ""
            guard labels.allSatisfy({ labelText.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    /// The sum of every sample of `name`.
    static func total(_ text: String, _ name: String) -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    @Test("metrics, status and stuck records during a run; promtool lints the scrape; a real Prometheus server scrapes the group")
    func metricsAndStatus() throws {
        let harness = try Harness("metrics")
        defer { harness.remove() }
        let running = try harness.start([
            "--source", "none", "--reducers", "2", "--mappers", "1", "--state", "state", "--metrics-listen", "127.0.0.1:0",
            "--processor", "exec:python3 \(Harness.fixtures)/exec_processor.py", "--retries", "20", "--retry-delay", "500ms",
            "--max-retry-delay", "500ms", "--dead-letter", "dead", "--stuck-after", "1s",
        ], environment: ["OUTPUT": harness.path("accepted.jsonl")])
        defer { _ = running.killGroup() }
        var endpoint = ""
        #expect(running.waitForLog("serving the group's metrics at http://") { log in
            guard let range = log.range(of: "metrics at http://") else { return false }
            endpoint = "http://" + log[range.upperBound...].prefix { !$0.isWhitespace }
            return true
        })
        let worker = running.workerCommand()
        #expect(!worker.isEmpty, "the group prints the worker command")
        let hold = harness.path("hold")
        let driver = try Background("/usr/bin/env", [
            "python3", "\(Harness.fixtures)/mld_driver.py", "--records", "500", "--batch", "50", "--millis-behind", "1234",
            "--poison", "123", "--hold-until", hold, "--",
        ] + worker, directory: harness.directory)
        defer { driver.kill() }
        func scrape() throws -> String { try harness.python("http_get.py", [endpoint]).stdout }

        // While record 123 keeps failing: named by `shardflow status` and on the progress line.
        let poisoned = "49000000000000000123"  // the driver numbers records from 49000000000000000000
        var stuckRow: [String: Any]?
        for _ in 0..<100 where stuckRow == nil {
            let status = try harness.run(Harness.binDirectory + "/shardflow", ["status", "--runtime-dir", harness.runtimeDirectory, "--json"])
            let document = try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            stuckRow = (document?["shards"] as? [[String: Any]])?.first {
                $0["stuckSequenceNumber"] as? String == poisoned && ($0["attempts"] as? Int ?? 0) >= 2 && $0["lastError"] is String
            }
            if stuckRow == nil { usleep(100_000) }
        }
        #expect(stuckRow?["shard"] as? String == "shardId-000000000000", "shardflow status names the stuck record: \(String(describing: stuckRow))")
        #expect((stuckRow?["lastError"] as? String)?.contains("rejected") == true)
        #expect(stuckRow?["millisBehindLatest"] as? Int == 1234)
        #expect(running.waitForOutput("stuck: shardId-000000000000 record \(poisoned)"), "the progress line names it")
        #expect(running.waitForLog("record \(poisoned) (key key-23) has been failing for"), "the reducer's log names it")
        let table = try harness.run(Harness.binDirectory + "/shardflow", ["status", "--runtime-dir", harness.runtimeDirectory])
        #expect(table.status == 0 && table.stdout.contains("shardId-000000000000") && table.stdout.contains("reducer-1"), "\(table.stdout)")

        // Once it is dead-lettered, every figure adds up to what the run did.
        var text = ""
        for _ in 0..<150 {
            text = try scrape()
            // The reducers' counters are read a moment after the shard's: wait for both.
            if Self.total(text, "shardflow_shard_records_completed_total") == 500,
               Self.total(text, "shardflow_reducer_items_dead_lettered_total") == 1 { break }
            usleep(100_000)
        }
        let shard = ["shard": "shardId-000000000000"]
        #expect(Self.sample(text, "shardflow_shard_records_received_total", shard) == 500)
        #expect(Self.sample(text, "shardflow_shard_records_completed_total", shard) == 500)
        #expect(Self.sample(text, "shardflow_shard_incomplete_records", shard) == 0)
        #expect(Self.sample(text, "shardflow_shard_behind_latest_seconds", shard) == 1.234, "the lag the daemon reported")
        #expect(Self.total(text, "shardflow_reducer_items_dead_lettered_total") == 1)
        #expect(Self.total(text, "shardflow_reducer_items_retried_total") >= 2)
        #expect(Self.total(text, "shardflow_shard_items_completed_total")
                == Self.total(text, "shardflow_reducer_items_processed_total") + 1, "every acknowledgement is a processed or dead-lettered item")
        #expect(Self.total(text, "shardflow_mapper_records_total") >= 500)
        #expect(Self.total(text, "shardflow_router_records_forwarded_total") >= 500)
        #expect((Self.sample(text, "shardflow_item_latency_seconds_count", shard) ?? 0) > 0)
        #expect(Self.sample(text, "shardflow_process_up", ["process": "reducer-1"]) == 1)
        #expect((Self.sample(text, "shardflow_process_cpu_seconds_total", ["process": "router-0"]) ?? 0) > 0)
        #expect((Self.sample(text, "shardflow_process_proportional_memory_bytes", ["process": "mapper-0"]) ?? 0) > 0)
        try text.write(toFile: harness.path("scrape.txt"), atomically: true, encoding: .utf8)
        let lint = try harness.run("/bin/sh", ["-c", "promtool check metrics < \(harness.path("scrape.txt"))"])
        #expect(lint.status == 0, "promtool check metrics: \(lint.stdout)\(lint.stderr)")

        // A real Prometheus server scrapes the endpoint; PromQL over its API gives the totals.
        let port = try Self.freePort()
        let target = endpoint.replacingOccurrences(of: "http://", with: "").replacingOccurrences(of: "/metrics", with: "")
        try """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: shardflow
                static_configs:
                  - targets: ["\(target)"]
            """.write(toFile: harness.path("prometheus.yml"), atomically: true, encoding: .utf8)
        let prometheus = try Background("/usr/bin/prometheus", [
            "--config.file=\(harness.path("prometheus.yml"))", "--storage.tsdb.path=\(harness.path("tsdb"))",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ], directory: harness.directory)
        defer { _ = prometheus.stop() }
        func query(_ expression: String) throws -> Double? {
            let url = "http://127.0.0.1:\(port)/api/v1/query?query=" + expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            guard let answer = try? harness.python("http_get.py", [url]).stdout,
                  let document = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any],
                  let result = (document["data"] as? [String: Any])?["result"] as? [[String: Any]],
                  let value = result.first?["value"] as? [Any], let text = value.last as? String
            else { return nil }
            return Double(text)
        }
        var received: Double?
        for _ in 0..<100 {
            received = try query("sum(shardflow_shard_records_received_total)")
            if received == 500 { break }
            usleep(200_000)
        }
        #expect(received == 500, "PromQL sum of records received")
        #expect(try query("sum(shardflow_reducer_items_dead_lettered_total)") == 1)
        #expect(try query("max(shardflow_shard_behind_latest_seconds)") == 1.234)
        #expect(try query("count(shardflow_process_up == 1)").map { $0 >= 6 } == true, "launcher, router, mapper, 2 reducers, the worker")

        FileManager.default.createFile(atPath: hold, contents: nil)
        #expect(driver.waitForExit(timeout: 60))
    }
}

extension EndToEnd {
    @Test("a --key pointer that matches nothing: a handful of log lines, not one per record; --stats-json has the counts and each shard")
    func quietItemErrorsAndStats() throws {
        let harness = try Harness("quiet-errors")
        defer { harness.remove() }
        // Only the first record has the key (so the check before starting passes).
        var records = Harness.sampleRecords(count: 3000, keys: 50)
        records[0].data = Array(#"{"nope":"here"}"#.utf8)
        try harness.writeRecords(records, to: "input.jsonl")
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "2", "--key", "json:/nope", "--dead-letter", "dead",
            "--state", "state", "--processor", "discard", "--stats-json", "stats.json", "--child-log-level", "info",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        let mapperLines = result.stderr.split(separator: "\n").filter { $0.contains("shardflow-mapper") && $0.contains("/nope") }
        #expect(!mapperLines.isEmpty && mapperLines.count <= 5, "\(mapperLines.count) lines: \(mapperLines.prefix(6))")
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: harness.path("stats.json")))) as! [String: Any]
        #expect(stats["itemsDeadLettered"] as? Int == 2999)
        #expect(stats["itemsRetried"] as? Int == 0 && stats["itemsFailed"] as? Int == 0 && stats["itemsFiltered"] as? Int == 0)
        let shards = stats["shardFigures"] as? [[String: Any]] ?? []
        #expect(shards.count == 2 && shards.allSatisfy { $0["stream"] as? String == "input" && $0["checkpoint"] as? String == "SHARD_END" })
        let unwritable = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "1", "--state", "state2", "--processor", "discard",
            "--stats-json", harness.path("no/such/dir/stats.json"),
        ])
        #expect(unwritable.status == 64 && unwritable.stderr.contains("--stats-json \(harness.path("no/such/dir/stats.json")): the directory \(harness.path("no/such/dir")) does not exist"),
                "checked before starting: \(unwritable.stderr.suffix(500))")
        // A path that cannot be written at the end (a directory by that name): an error then.
        try FileManager.default.createDirectory(atPath: harness.path("taken.json"), withIntermediateDirectories: true)
        let taken = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "1", "--state", "state3", "--processor", "discard",
            "--stats-json", harness.path("taken.json"),
        ])
        #expect(taken.status == 1 && taken.stderr.contains("cannot write --stats-json"), "\(taken.stderr.suffix(500))")
    }
}

extension Harness.Running {
    /// Waits until stderr satisfies `predicate` (which may pick values out of it).
    func waitForLog(_ text: String, timeout: TimeInterval = 60, _ predicate: (String) -> Bool) -> Bool {
        collector.waitForStderr(timeout: timeout, predicate)
    }
}

extension EndToEnd.Background {
    /// Waits until the program exits.
    func waitForExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        return !process.isRunning
    }
}
