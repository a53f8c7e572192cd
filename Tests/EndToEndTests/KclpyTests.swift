import Foundation
import Testing

extension EndToEnd {
    @Test("the local source drives the official kclpy sample app through whole shards")
    func kclpySampleApp() throws {
        let harness = try Harness("kclpy")
        defer { harness.remove() }
        let sample = try Self.kclpySample()
        let records = Harness.sampleRecords(count: 120, keys: 12)
        try harness.writeRecords(records, to: "input.jsonl")
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "1", "--records-per-batch", "25",
            "--state", "state", "--worker-command", "python3 \(sample)",
        ], environment: ["PYTHONPATH": Harness.kclpyDirectory])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(3000))")
        #expect(try harness.checkpoints(in: "state") == ["shardId-000000000000": "SHARD_END", "shardId-000000000001": "SHARD_END"])
        let logged = Self.recordsLogged(in: result.stderr)
        #expect(logged == records.count)
        #expect(!result.stderr.contains("skipping unexpected line"), "kclpy's lines all parse as protocol messages")
    }

    @Test("a worker that dies while the group starts is started again with the source, and nothing is lost")
    func workerDiesWhileTheGroupStarts() throws {
        let harness = try Harness("early-worker")
        defer { harness.remove() }
        let sample = try Self.kclpySample()
        let records = Harness.sampleRecords(count: 60, keys: 6)
        try harness.writeRecords(records, to: "input.jsonl")
        // The launcher starts the local source's workers while the group starts; the first one
        // this wrapper runs exits at once, every later one runs the sample app.
        let marker = harness.path("died")
        let wrapper = harness.path("worker.sh")
        try "if [ ! -e \(marker) ]; then : > \(marker); exit 7; fi\nexec python3 \(sample)\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--shards", "1", "--reducers", "4", "--records-per-batch", "25",
            "--state", "state", "--worker-command", "sh \(wrapper)",
        ], environment: ["PYTHONPATH": Harness.kclpyDirectory])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(3000))")
        #expect(FileManager.default.fileExists(atPath: marker), "the first worker ran and exited")
        #expect(result.stderr.contains("worker for shardId-000000000000 exited with status 7"), "its exit is reported: \(result.stderr.suffix(3000))")
        #expect(try harness.checkpoints(in: "state") == ["shardId-000000000000": "SHARD_END"])
        let logged = Self.recordsLogged(in: result.stderr)
        #expect(logged == records.count, "every record reached the sample app once")
    }

    /// The official kclpy sample app (scripts/test.sh unpacks the sdist).
    static func kclpySample() throws -> String {
        let sample = Harness.kclpyDirectory + "/samples/sample_kclpy_app.py"
        try #require(FileManager.default.fileExists(atPath: sample), "amazon-kclpy 3.2.0 unpacked at \(Harness.kclpyDirectory) (scripts/test.sh does it)")
        return sample
    }

    /// Records the sample app processed: it logs each one to stderr.
    static func recordsLogged(in stderr: String) -> Int {
        stderr.components(separatedBy: "Record (Partition Key: ").count - 1
    }
}
