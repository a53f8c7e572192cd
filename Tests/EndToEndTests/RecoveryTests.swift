import Foundation
import ShardFlowCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// Checks the at-least-once promise against whatever is on disk: for every shard's stored
    /// checkpoint, every record of that shard up to it is in the output.
    static func checkpointsCoverOutput(_ harness: Harness, records: [(key: String, data: [UInt8])], shards: Int) throws -> Int {
        guard FileManager.default.fileExists(atPath: harness.path("state/input/checkpoints.json")) else { return 0 }
        let checkpoints = try harness.checkpoints(in: "state")
        let delivered = Set(try harness.outputItems(in: "out").map(\.data))
        var covered = 0
        for (shardId, sequence) in checkpoints {
            let shard = Int(shardId.suffix(12))!
            let lastLine = sequence == "SHARD_END" ? Int.max : Int(sequence.suffix(48))!
            for (offset, record) in records.enumerated() where offset + 1 <= lastLine
                && KinesisHashKey.shardIndex(partitionKey: Array(record.key.utf8), shardCount: shards) == shard {
                #expect(delivered.contains(record.data), "line \(offset + 1) of \(shardId) is behind checkpoint \(sequence) but missing")
                covered += 1
            }
        }
        return covered
    }

    @Test("SIGKILL to the whole group at any moment, rerun, and nothing is missing")
    func killedGroupResumes() throws {
        let harness = try Harness("kill")
        defer { harness.remove() }
        let records = Harness.sampleRecords(count: 30_000, keys: 500)
        try harness.writeRecords(records, to: "input.jsonl")
        let arguments = [
            "--source", "file:input.jsonl", "--shards", "4", "--reducers", "2", "--checkpoint-interval", "200ms",
            "--records-per-batch", "500", "--state", "state", "--processor", "jsonl:out",
        ]
        // Kill twice at different moments: once early, once later in the rerun.
        for (round, outputLines) in [(1, 3000), (2, 15000)] {
            let running = try harness.start(arguments)
            let reached = ProcessEvents.waitForLines(in: harness.path("out"), atLeast: outputLines, timeout: 120) { $0.hasPrefix("reducer-") }
            try #require(reached && running.process.isRunning, "round \(round): the run ended before it could be killed")
            _ = running.killGroup()
            let covered = try Self.checkpointsCoverOutput(harness, records: records, shards: 4)
            #expect(covered > 0, "round \(round): some checkpoint was stored before the kill")
        }
        let final = try harness.launch(arguments)
        #expect(final.status == 0, "stderr: \(final.stderr.suffix(2000))")
        let items = try harness.outputItems(in: "out")
        #expect(Set(items.map(\.data)) == Set(records.map(\.data)), "every record at least once")
        #expect(try Self.checkpointsCoverOutput(harness, records: records, shards: 4) == records.count)
    }

    @Test("a reducer killed mid-run is restarted alone, and no item is lost")
    func reducerCrashIsRecovered() throws {
        let harness = try Harness("reducercrash")
        defer { harness.remove() }
        let records = Harness.sampleRecords(count: 20_000, keys: 300)
        try harness.writeRecords(records, to: "input.jsonl")
        let running = try harness.start([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "2", "--records-per-batch", "500",
            "--state", "state", "--processor", "jsonl:out", "--log-level", "info",
        ])
        #expect(ProcessEvents.waitForLines(in: harness.path("out"), atLeast: 2000, timeout: 120) { $0.hasPrefix("reducer-") })
        let pid = Self.pid(program: "shardflow-reducer", argumentsContaining: ["--index 1", harness.runtimeDirectory])
        #expect(pid != nil)
        if let pid { kill(pid, SIGKILL) }
        let result = running.wait()
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(3000))")
        #expect(result.stderr.contains("reducer-1 killed by signal 9 (SIGKILL); restarting it"))
        #expect(Set(try harness.outputItems(in: "out").map(\.data)) == Set(records.map(\.data)))
    }

    @Test("a process that keeps crashing ends the run with a clear message")
    func crashLoopFails() throws {
        let harness = try Harness("crashloop")
        defer { harness.remove() }
        let bin = harness.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for name in ["shardflow-router", "shardflow-mapper", "shardflow-worker"] {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + name, withDestinationPath: Harness.binDirectory + "/" + name)
        }
        try "#!/bin/sh\necho 'reducer: cannot open the database' >&2\nexit 7\n".write(toFile: bin + "/shardflow-reducer", atomically: true, encoding: .utf8)
        chmod(bin + "/shardflow-reducer", 0o755)
        try harness.writeRecords(Harness.sampleRecords(count: 10, keys: 2), to: "input.jsonl")
        let result = try harness.launch([
            "--source", "file:input.jsonl", "--bin-dir", bin, "--reducers", "1", "--state", "state", "--restart-limit", "2",
        ], timeout: 120)
        #expect(result.status == 1)
        #expect(result.stderr.contains("reducer-0 keeps exiting (3 times within 1m; last: exited with status 7)")
                || result.stderr.contains("reducer-0 did not report READY=1"), "stderr: \(result.stderr.suffix(2000))")
        // The source's worker started while the group did, and waited: it ends with the run.
        let deadline = Date().addingTimeInterval(2)
        while Self.pid(program: bin + "/shardflow-worker", argumentsContaining: []) != nil, Date() < deadline { usleep(20_000) }
        #expect(Self.pid(program: bin + "/shardflow-worker", argumentsContaining: []) == nil, "the waiting worker outlived the run")

        let missing = try harness.launch(["--source", "file:input.jsonl", "--bin-dir", harness.path("nowhere"), "--state", "state2"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot start"))
    }

    /// The pid of a running `program` (matched on its executable, argv[0]) whose arguments contain
    /// every fragment. A wrapper that merely mentions the program in its arguments does not match.
    static func pid(program: String, argumentsContaining fragments: [String]) -> pid_t? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = pid_t(entry),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty else { continue }
            let arguments = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard arguments[0] == program || arguments[0].hasSuffix("/" + program) else { continue }
            let command = arguments.dropFirst().joined(separator: " ")
            if fragments.allSatisfy({ command.contains($0) }) { return pid }
        }
        return nil
    }
}

extension EndToEnd {
    /// The process's executable (`/proc/PID/exe`) and name (`/proc/PID/comm`).
    static func image(of pid: pid_t) -> (executable: String, name: String) {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
        let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        return (executable, name.trimmingCharacters(in: .newlines))
    }

    @Test("the group runs from the launcher's executable under each program's name; with --bin-dir, from each program's own")
    func groupExecutable() throws {
        let harness = try Harness("image")
        defer { harness.remove() }
        let launcher = URL(fileURLWithPath: Harness.binDirectory + "/shardflow").resolvingSymlinksInPath().path
        for separate in [false, true] {
            let running = try harness.start(
                ["--source", "generate:100000000,rate=2000", "--shards", "1", "--reducers", "1", "--state", "state-\(separate)", "--processor", "discard"]
                    + (separate ? ["--bin-dir", Harness.binDirectory] : []))
            guard running.waitForOutput("] records ", timeout: 60) else {
                let (stdout, stderr) = running.killGroup()
                Issue.record("the run did not start: \(stdout.suffix(1000)) \(stderr.suffix(2000))")
                return
            }
            for program in ["shardflow-worker", "shardflow-router", "shardflow-mapper", "shardflow-reducer"] {
                let pid = Self.pid(program: program, argumentsContaining: [harness.runtimeDirectory])
                try #require(pid != nil, "no \(program) running (separate executables: \(separate))")
                let image = Self.image(of: pid!)
                let own = URL(fileURLWithPath: Harness.binDirectory + "/" + program).resolvingSymlinksInPath().path
                #expect(image.executable == (separate ? own : launcher), "\(program)'s executable")
                #expect(image.name == String(program.prefix(15)), "\(program)'s process name")
            }
            _ = running.killGroup()
        }
    }
}

extension EndToEnd {
    @Test("a process restarted after the launcher's file was removed runs the running version")
    func restartAfterUpgradeInPlace() throws {
        let harness = try Harness("upgrade")
        defer { harness.remove() }
        let bin = harness.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Harness.binDirectory + "/shardflow", toPath: bin + "/shardflow")
        let running = try harness.start(
            ["--source", "generate:20000,rate=5000", "--shards", "1", "--reducers", "2", "--state", "state", "--processor", "discard",
             "--log-level", "info"], launcher: bin + "/shardflow")
        try #require(running.waitForOutput("] records ", timeout: 60), "the run did not start")
        try FileManager.default.removeItem(atPath: bin + "/shardflow")
        let pid = Self.pid(program: "shardflow-reducer", argumentsContaining: ["--index 1", harness.runtimeDirectory])
        try #require(pid != nil)
        kill(pid!, SIGKILL)
        #expect(running.waitForLog("reducer-1 killed by signal 9 (SIGKILL); restarting it", timeout: 30))
        let result = running.wait()
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(3000))")
        #expect((result.stdout + result.stderr).contains("every shard ended and every item was acknowledged"), "output: \(result.stdout.suffix(1000)) \(result.stderr.suffix(2000))")
    }
}
