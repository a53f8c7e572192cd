import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import ShardFlowCore
@testable import ShardFlowRuntime

@Suite("Observability")
struct ObservabilityTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    @Test("docs/operations.md documents every metric with its type and labels")
    func everyMetricIsDocumented() throws {
        let docs = try String(contentsOfFile: Self.repository + "/docs/operations.md", encoding: .utf8)
        for metric in MetricDefinition.all {
            #expect(docs.contains("| `\(metric.name)` | \(metric.kind.rawValue) | \(metric.labels.joined(separator: ", ")) |"),
                    "\(metric.name) is not in the metrics table of docs/operations.md")
        }
        #expect(Set(MetricDefinition.all.map(\.name)).count == MetricDefinition.all.count, "no name twice")
    }

    @Test("the Grafana dashboard queries only metrics that exist")
    func dashboardUsesKnownMetrics() throws {
        let text = try String(contentsOfFile: Self.repository + "/deploy/grafana-dashboard.json", encoding: .utf8)
        let dashboard = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let expressions = (dashboard["panels"] as! [[String: Any]]).flatMap { ($0["targets"] as! [[String: Any]]).map { $0["expr"] as! String } }
        #expect(expressions.count >= 10)
        let known = Set(MetricDefinition.all.flatMap { [$0.name, $0.name + "_bucket", $0.name + "_sum", $0.name + "_count"] })
        for expression in expressions {
            let names = expression.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init).filter { $0.hasPrefix("shardflow_") }
            #expect(!names.isEmpty && names.allSatisfy(known.contains), "\(expression)")
        }
    }

    @Test("a control socket answers status and metrics; a socket nobody listens on is gone")
    func controlSocket() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let directory = "/tmp/sf-control-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let metrics = ProcessMetrics(process: "test-0")
        let counter = metrics.counter(.routerRecordsForwarded, [("router", "0")])
        counter.set(total: 41)
        counter.set(total: 42)
        let channel = try ControlServer.start(
            at: directory + "/test-0.sock", on: group.next(), transport: TransportConfiguration(), logger: .init(label: "test")
        ) { request in
            request == "metrics" ? metrics.exposition() : "{\"process\":\"test-0\",\"role\":\"router\"}"
        }.wait()
        defer { try? channel.close().wait() }
        #expect(try ControlClient.ask(directory + "/test-0.sock", "status") == "{\"process\":\"test-0\",\"role\":\"router\"}")
        let text = try ControlClient.ask(directory + "/test-0.sock", "metrics")
        #expect(text.contains("shardflow_router_records_forwarded_total{router=\"0\"} 42"))
        #expect(text.contains("shardflow_process_cpu_seconds_total{process=\"test-0\"}"))
        #expect(ControlClient.sockets(in: directory).map(\.name) == ["test-0"])
        #expect(throws: ControlClient.Failure.gone) { try ControlClient.ask(directory + "/nobody.sock", "status") }
    }

    @Test("a synced counter never goes down: a total that restarts counts from zero again")
    func syncedCounter() {
        let metrics = ProcessMetrics(process: "p")
        let counter = metrics.counter(.reducerItemsProcessed, [("reducer", "0")])
        counter.set(total: 10)
        counter.set(total: 15)
        counter.set(total: 3)  // the owner started over
        #expect(metrics.exposition().contains("shardflow_reducer_items_processed_total{reducer=\"0\"} 18"))
    }

    @Test("group status: a shard row takes its stuck record's attempts and error from the reducer holding it")
    func groupStatusRows() throws {
        var status = GroupStatus()
        func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }
        status.documents = [
            ("worker-1", try parse(#"{"process":"worker-orders-s1","role":"worker","stream":"orders","shard":"s1","received":10,"completedRecords":7,"incomplete":3,"heldBack":false,"millisBehindLatest":1500,"lastCheckpoint":{"sequenceNumber":"106","time":100},"oldestIncomplete":{"sequenceNumber":"107","ageSeconds":42.5,"failedAttempts":0},"cpuSeconds":1,"residentBytes":1048576,"proportionalBytes":524288}"#)),
            ("reducer-0", try parse(#"{"process":"reducer-0","role":"reducer","queued":2,"stuck":[{"stream":"orders","shard":"s1","sequenceNumber":"107","attempts":6,"lastError":"503","heldSeconds":40}]}"#)),
            ("launcher", try parse(#"{"process":"launcher","role":"launcher","processes":[{"name":"reducer-0","role":"reducer","state":"running","restarts":2},{"name":"mapper-0","role":"mapper","state":"down","restarts":1}]}"#)),
        ]
        status.build()
        #expect(status.shards == [GroupStatus.ShardRow(
            stream: "orders", shard: "s1", received: 10, completed: 7, incomplete: 3, heldBack: false, oldestAgeSeconds: 42.5,
            millisBehindLatest: 1500, lastCheckpoint: "106", lastCheckpointTime: 100, stuckSequenceNumber: "107", attempts: 6, lastError: "503")])
        #expect(status.stuck(after: 30).count == 1 && status.stuck(after: 60).isEmpty)
        #expect(status.processes.first { $0.name == "reducer-0" }?.restarts == 2)
        #expect(status.processes.first { $0.name == "mapper-0" }?.state == "down", "a member without a socket shows as the launcher says")
        let table = status.table(now: 103)
        #expect(table.contains("107 (attempt 6: 503)") && table.contains("106 (3.0s ago)") && table.contains("1.5s"))
    }
}
