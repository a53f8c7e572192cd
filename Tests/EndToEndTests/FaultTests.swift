import Foundation
import ShardFlowCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults a careful user meets: a full disk, a hung or misbehaving processor, a stop that
/// cannot drain, sockets planted by another user, peers that never say hello, a daemon that
/// sends garbage. Each has a defined outcome; these tests provoke it.
extension EndToEnd {
    /// Mounts a tmpfs of `size` at `path` (the suite runs as root); nil with a loud note when
    /// this machine cannot.
    static func mountTmpfs(_ path: String, size: String) -> Bool {
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let result = Process.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
        if result != 0 { print("NOTE: cannot mount a tmpfs here (mount exited \(result)); the full-disk test is skipped") }
        return result == 0
    }

    static func lines(of path: String) -> [Substring] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
    }

    @Test("a full disk pauses the output without tearing a line or checkpointing ahead; the run resumes when space returns")
    func fullDisk() throws {
        let harness = try Harness("fulldisk")
        defer { harness.remove() }
        let out = harness.path("out")
        guard Self.mountTmpfs(out, size: "1m") else { return }
        defer { _ = Process.run("/bin/umount", ["-l", out]) }
        let records = Harness.sampleRecords(count: 6000, keys: 40)
        try harness.writeRecords(records, to: "input.jsonl")
        let running = try harness.start([
            "--source", "file:input.jsonl", "--shards", "2", "--reducers", "1", "--mappers", "1", "--batch-size", "1",
            "--max-retry-delay", "500ms", "--checkpoint-interval", "100ms", "--state", "state", "--processor", "jsonl:out", "--child-log-level", "warning",
        ])
        #expect(running.waitForLog("cannot write out/reducer-0.jsonl: No space left on device (errno 28: the disk is full)"),
                "the reducer names the file and the errno")
        // While the disk is full: every line in the file is whole, and no checkpoint is ahead of it.
        let file = out + "/reducer-0.jsonl"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.hasSuffix("\n"), "the file ends with a complete line")
        for line in text.split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "a torn line: \(line.prefix(80))")
        }
        _ = try Self.checkpointsCoverOutput(harness, records: records, shards: 2)
        // Space returns: the shard resumes by itself.
        #expect(Process.run("/bin/mount", ["-o", "remount,size=64m", out]) == 0)
        let result = running.wait()
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        let items = try harness.outputItems(in: "out")
        #expect(Set(items.map(\.data)) == Set(records.map(\.data)), "every record, after the disk filled up and emptied")
        #expect(try Self.checkpointsCoverOutput(harness, records: records, shards: 2) == records.count)
    }

    @Test("a stop that cannot drain ends at the drain deadline: exit 4, incomplete shards named, no process left behind")
    func drainDeadline() throws {
        let harness = try Harness("drain")
        defer { harness.remove() }
        let marker = "100\(Int.random(in: 1000...9999))"
        let running = try harness.start([
            "--source", "generate:3000", "--shards", "2", "--reducers", "1", "--mappers", "1", "--state", "state",
            "--processor", "exec:sleep \(marker)", "--processor-timeout", "60s", "--drain-timeout", "3s",
        ])
        #expect(running.waitForOutput("records 3,000"), "every record reached a worker")
        let started = Date()
        kill(running.process.processIdentifier, SIGTERM)
        let result = running.wait()
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == ExitStatus.drainTimedOut, "stdout: \(result.stdout.suffix(1500))")
        #expect(seconds < 12, "the stop took \(seconds) s with a 3 s drain deadline")
        // Two ways to hit the deadline, depending on where the signal finds the workers: a
        // worker waiting at shard end for records that never complete keeps the source stopping
        // until the deadline; one that got `shutdownRequested` hands its shard back in half of
        // it, and the hung reducer is what the deadline kills.
        #expect(result.stderr.contains("the drain deadline (--drain-timeout 3s) passed with shards still stopping")
                    || result.stderr.contains("reducer-0 did not stop within"), "stderr: \(result.stderr.suffix(1500))")
        #expect(result.stdout.contains("shards stopped with records not processed: shardId-000000000000"))
        #expect(result.stdout.contains("exit 4"))
        #expect(Self.pid(program: "sleep", argumentsContaining: [marker]) == nil, "the hung processor child was killed with its reducer")
        let checkpoints = (try? harness.checkpoints(in: "state", stream: "generated")) ?? [:]
        #expect(checkpoints.values.allSatisfy { $0 != "SHARD_END" }, "nothing incomplete is checkpointed")
    }

    @Test("exec: children that hang, echo, or stop reading fail their batch with a message naming the child", arguments: [
        ("sleep 100000", "did not answer batch 1 within 1s (--processor-timeout)"),
        ("cat", #"answered batch 1 with a reply without "batchItemFailures""#),
        ("exec 0<&-; sleep 100000", "stopped reading its stdin before the whole of batch 1 was written"),
        ("while read batch; do echo not json; done", "answered batch 1 with invalid JSON"),
    ])
    func execFailures(command: String, message: String) throws {
        let harness = try Harness("execfail")
        defer { harness.remove() }
        let result = try harness.launch([
            "--source", "generate:300,size=400", "--shards", "1", "--reducers", "1", "--mappers", "1", "--state", "state",
            "--processor", "exec:\(command)", "--processor-timeout", "1s", "--retries", "1", "--retry-delay", "10ms",
            "--dead-letter", "dl", "--batch-size", "300",
        ], timeout: 60)
        #expect(result.status == 0, "every item dead-lettered, the run completes: \(result.stderr.suffix(1500))")
        #expect(result.stderr.contains("exec child (pid "), "\(result.stderr.suffix(1500))")
        #expect(result.stderr.contains(message), "\(result.stderr.suffix(1500))")
        #expect(result.stderr.contains("is restarted for the next batch"))
        let letters = Self.lines(of: harness.path("dl/dead-letter-reducer-0.jsonl")).filter { !$0.isEmpty }
        #expect(letters.count == 300)
    }

    @Test("a record that keeps failing while later ones complete holds its shard after 4 × --max-pending records, and lets go once it is dead-lettered")
    func heldRecordsBound() throws {
        let harness = try Harness("held")
        defer { harness.remove() }
        // Record 3 fails until it is dead-lettered (8 retries, 300 ms apart); its key's later
        // items wait behind it, every other key goes on: the records incomplete fall below the
        // low-water mark (12 of --max-pending 25), and only the bound on records held (100;
        // released below 50) keeps the daemon waiting.
        let running = try harness.start([
            "--source", "none", "--reducers", "1", "--mappers", "1", "--state", "state", "--max-pending", "25",
            "--processor", "exec:python3 \(Harness.fixtures)/exec_processor.py", "--retries", "8", "--retry-delay", "300ms",
            "--max-retry-delay", "300ms", "--dead-letter", "dead",
        ], environment: ["OUTPUT": harness.path("accepted.jsonl")])
        defer { _ = running.killGroup() }
        let worker = running.workerCommand()
        #expect(!worker.isEmpty, "the group prints the worker command")
        let driver = try Background("/usr/bin/env", [
            "python3", "\(Harness.fixtures)/mld_driver.py", "--records", "1000", "--batch", "10", "--poison", "3", "--",
        ] + worker, directory: harness.directory)
        defer { driver.kill() }
        #expect(driver.waitForLog("records held since record #3 at 49000000000000000003/0, which is still incomplete"), "the worker names the record holding the shard")
        let status = try harness.run(Harness.binDirectory + "/shardflow", ["status", "--runtime-dir", harness.runtimeDirectory, "--json"])
        let document = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let shard = (document?["shards"] as? [[String: Any]])?.first
        #expect(shard?["heldBack"] as? Bool == true, "\(status.stdout)")
        #expect((shard?["received"] as? Int ?? .max) < 3 + 100 + 10, "records 0…2, then fewer than 100 held before the batch of 10 that crossed it: \(status.stdout)")
        #expect((shard?["incomplete"] as? Int ?? .max) < 12, "held by the records held, not by those incomplete: \(status.stdout)")

        #expect(driver.waitForExit(timeout: 60), "once record 3 is dead-lettered, the shard goes on to its end")
        let summary = try JSONSerialization.jsonObject(with: Data(driver.stop().0.utf8)) as? [String: Any]
        #expect((summary?["checkpoints"] as? [String])?.last == "SHARD_END", "\(String(describing: summary))")
        // Items of key-3 that ran after record 3's failure in its batch run again after it.
        let accepted = try Self.execOutput(harness.path("accepted.jsonl"))
        #expect(Set(accepted.map { $0["sequenceNumber"] as! String }).count == 999, "every other record processed")
        #expect(Self.lines(of: harness.path("dead/dead-letter-reducer-0.jsonl")).filter { !$0.isEmpty }.count == 1)
    }

    @Test("a daemon line the worker cannot read ends the worker with status 1 and a message, instead of a silent wait")
    func malformedDaemonLine() throws {
        let harness = try Harness("badline")
        defer { harness.remove() }
        try FileManager.default.createDirectory(atPath: harness.runtimeDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: harness.runtimeDirectory) }
        chmod(harness.runtimeDirectory, 0o700)
        let input = #"{"action":"initialize","shardId":"shard-0","sequenceNumber":"TRIM_HORIZON"}"# + "\n"
            + #"{"action":"processRecords","records":[{"partitionKey":"k","sequenceNumber":"1"}]}"# + "\n"
        try input.write(toFile: harness.path("lines"), atomically: true, encoding: .utf8)
        let result = try harness.run("/bin/sh", ["-c", "cat lines | \(Harness.binDirectory)/shardflow-worker --runtime-dir \(harness.runtimeDirectory)"],
                                     timeout: 20)
        #expect(result.status == 1)
        #expect(result.stdout == #"{"action":"status","responseFor":"initialize"}"# + "\n", "nothing answered after the bad line")
        #expect(result.stderr.contains("record 0 has no data"), "\(result.stderr)")
        #expect(result.stderr.contains("exiting with status 1"))
    }

    @Test("the group starts at once without noise at info; a mapper whose peers never come says so after its first second")
    func startUpConnections() throws {
        let harness = try Harness("startup")
        defer { harness.remove() }
        let result = try harness.launch([
            "--source", "generate:1000,size=100,keys=100", "--shards", "2", "--reducers", "2", "--mappers", "2",
            "--state", "state", "--processor", "discard", "--child-log-level", "info",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        #expect(!result.stderr.contains("cannot connect") && !result.stderr.contains("failed attempts"),
                "a mapper's tries before its peers' sockets exist are expected: \(result.stderr.suffix(2000))")

        let runtime = harness.runtimeDirectory
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let mapper = try Background(Harness.binDirectory + "/shardflow-mapper", ["--runtime-dir", runtime, "--reducers", "1", "--log-level", "info"],
                                    directory: harness.directory)
        #expect(!mapper.waitForLog("cannot connect", timeout: 0.6), "quiet while the peers may still be starting")
        // Each peer's connector reports its own first failure after the first second, at its next
        // try (up to about a second later): the reducer's may come first.
        #expect(mapper.waitForLog("\(runtime)/router-0.sock", timeout: 5))
        let (_, errors) = mapper.stop()
        #expect(errors.contains("cannot connect to router 0 at \(runtime)/router-0.sock") && errors.contains("retrying"),
                "after the first second the missing router is named: \(errors.suffix(2000))")
    }
}

extension Process {
    /// Runs a program to its end; returns its exit status.
    static func run(_ program: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
