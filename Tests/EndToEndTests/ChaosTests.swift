import Foundation
import Testing

/// At-least-once under fire: a random process of the group is killed every one or two seconds
/// while KPL aggregates flow into jsonl output (Fixtures/chaos.py does the killing and the
/// checking; `scripts/chaos.sh` runs the long version).
extension EndToEnd {
    @Test("chaos: SIGKILL to a random worker, router, mapper or reducer every 0.7-1.4 s; nothing lost, no checkpoint ahead, no torn line, every key's first deliveries in shard order")
    func chaos() throws {
        let harness = try Harness("chaos")
        defer { harness.remove() }
        let result = try harness.python("chaos.py", [
            "--bin", Harness.binDirectory, "--work", harness.path("run"), "--records", "30000", "--interval", "0.7", "1.4", "--mappers", "2",
            "--timeout", "240", "--seed", String(Int.random(in: 1...1_000_000)),
        ])
        let summary = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(2000))")
        #expect((summary["problems"] as? [String])?.isEmpty == true, "\(summary)")
        let kills = (summary["kills"] as? [String: Int] ?? [:]).values.reduce(0, +)
        #expect(kills >= 3, "the run lasted long enough to be attacked: \(summary)")
        #expect(summary["delivered"] as? Int == summary["items"] as? Int)
        #expect(summary["orderViolations"] as? Int == 0, "\(summary)")
    }
}
