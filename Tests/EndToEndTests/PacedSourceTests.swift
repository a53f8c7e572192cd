import Foundation
import Testing

/// `generate:…,rate=N`, the latency percentiles and the memory figures of the summary.
extension EndToEnd {
    @Test("a paced source keeps its rate; the summary and --stats-json give item latency percentiles and PSS next to RSS")
    func pacedSourceLatencyAndMemory() throws {
        let harness = try Harness("paced")
        defer { harness.remove() }
        let result = try harness.launch([
            "--source", "generate:20000,size=100,keys=100,rate=20000", "--shards", "2", "--reducers", "2", "--mappers", "1",
            "--state", "state", "--processor", "discard", "--stats-json", "stats.json",
        ])
        #expect(result.status == 0, "\(result.stderr.suffix(1000))")
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: harness.path("stats.json")))) as! [String: Any]
        #expect(stats["records"] as? Int == 20000)
        // The pace: 20,000 records at 20,000/s cannot take less than about a second.
        #expect((stats["seconds"] as? Double ?? 0) >= 0.9, "\(stats["seconds"] ?? "-")")
        let latency = try #require(stats["latency"] as? [String: Any], "latency figures")
        let samples = latency["samples"] as? Int ?? 0
        #expect(samples >= 20000 / 8 - 10 && samples <= 20000 / 8 + 10, "one record in 8 is sampled: \(samples)")
        let p50 = latency["p50Ms"] as? Double ?? -1, p99 = latency["p99Ms"] as? Double ?? -1
        let p999 = latency["p999Ms"] as? Double ?? -1, maximum = latency["maxMs"] as? Double ?? -1
        #expect(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= maximum, "\(latency)")
        #expect(result.stdout.contains("  latency      p50 ") && result.stdout.contains("sampled items, from the worker receiving the record to the acknowledgement"))
        // Memory: PSS of the whole run at its peak, and per process next to RSS.
        let pss = stats["peakProportionalBytesSum"] as? Int ?? 0
        #expect(pss > 10 << 20 && pss < (stats["peakResidentBytesSum"] as? Int ?? 0) * 2, "\(pss)")
        let processes = stats["processes"] as? [[String: Any]] ?? []
        #expect(processes.contains { $0["name"] as? String == "reducer-0" && ($0["peakProportionalBytes"] as? Int ?? 0) > 0 })
        #expect(processes.contains { $0["name"] as? String == "launcher" && ($0["cpuSeconds"] as? Double ?? 0) > 0 })
        #expect(result.stdout.contains("PSS at the peak") && result.stdout.contains("reducer-0 ") && result.stdout.contains("(PSS "))
    }
}
