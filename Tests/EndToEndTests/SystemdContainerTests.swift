import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// The whole systemd life of a group under a real systemd as PID 1, done as
    /// docs/operations.md says: install, activation, records through `shardflow-kcl@` (a stand-in
    /// daemon playing one shard per start), a reducer killed, a hung router replaced by the
    /// watchdog, scaling up and down, an ordered stop, and removal.
    @Test("under a real systemd: installed as the docs say, it starts on demand, loses nothing, recovers, scales, drains and leaves nothing")
    func realSystemd() throws {
        if let reason = SystemdContainer.unavailableReason() {
            print("NOTE: ==== the real-systemd test is SKIPPED on this machine: \(reason) ====")
            try Test.cancel("cannot boot a systemd container here: \(reason)")
        }
        let harness = try Harness("systemd")
        defer { harness.remove() }
        let container: SystemdContainer
        do {
            container = try SystemdContainer(name: "group")
        } catch let error as SystemdContainer.Unavailable {
            print("NOTE: ==== the real-systemd test is SKIPPED on this machine: \(error) ====")
            try Test.cancel("cannot boot a systemd container here: \(error)")
        }
        let hostBefore = SystemdContainer.nspawnHostDirectories.filter { FileManager.default.fileExists(atPath: $0) }
        defer {
            container.tearDown()
            #expect(!SystemdContainer.isMounted(container.root) && !FileManager.default.fileExists(atPath: container.base), "the container is gone")
            #expect(SystemdContainer.nspawnHostDirectories.filter { FileManager.default.fileExists(atPath: $0) } == hostBefore,
                    "systemd-nspawn's bookkeeping under /run is as it was")
        }
        let root = container.root
        let started = Date()
        func elapsed() -> String { String(format: "%.1f s", Date().timeIntervalSince(started)) }

        // What an operator has next to the build: the KCL properties of two streams, and (in
        // place of the KCL jars, which cannot be downloaded here) the stand-in daemon.
        let install = root + "/srv/install"
        try FileManager.default.createDirectory(atPath: install + "/fixtures", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: install + "/.build/release", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Harness.fixtures + "/mld_driver.py", toPath: install + "/fixtures/mld_driver.py")
        let driver = "/srv/install/fixtures/mld_driver.py"
        // Each stream's KCL properties, with what the stand-in daemon plays: records, batch, pause.
        for (stream, records, batch, pause) in [("orders", 6000, 50, "0.1"), ("users", 2000, 100, "0.02")] {
            try """
                streamName = \(stream)
                applicationName = \(stream)-app
                regionName = us-east-1
                standIn.driver = \(driver)
                standIn.records = \(records)
                standIn.batch = \(batch)
                standIn.pause = \(pause)

                """.write(toFile: install + "/\(stream).properties", atomically: true, encoding: .utf8)
        }
        let classes = harness.path("classes")
        try FileManager.default.createDirectory(atPath: classes, withIntermediateDirectories: true)
        let javac = try harness.run("/usr/bin/env", ["javac", "-d", classes, Harness.fixtures + "/standin-daemon/MultiLangDaemon.java"])
        try #require(javac.status == 0, "javac: \(javac.stderr)")
        try FileManager.default.createDirectory(atPath: root + "/opt/amazon-kinesis-client/lib", withIntermediateDirectories: true)
        let jar = try harness.run("/usr/bin/env", ["jar", "cf", root + "/opt/amazon-kinesis-client/lib/standin-daemon.jar", "-C", classes, "."])
        try #require(jar.status == 0, "jar: \(jar.stderr)")

        do {
            try container.boot(binds: [(Harness.binDirectory, "/srv/install/.build/release")],
                               mask: ["postgresql.service", "prometheus.service"])
        } catch {
            Issue.record("the container did not boot: \(error)")
            return
        }
        print("real systemd: booted at \(elapsed())")

        // ---- Install, line by line as docs/operations.md says.
        let docs = try String(contentsOfFile: Harness.repository + "/docs/operations.md", encoding: .utf8)
        let installBlock = Self.codeBlock(after: "### Install", in: docs)
        try #require(!installBlock.isEmpty, "docs/operations.md has an Install code block")
        var printedCommands: [String] = []
        var documentedCommands: [String] = []
        var afterGenerator = false
        for line in installBlock where !line.hasPrefix("#") && !line.hasPrefix("swift build") {
            let command = line.components(separatedBy: "   #").first!.trimmingCharacters(in: .whitespaces)
            let result = container.exec(command, in: "/srv/install")
            try #require(result.status == 0, "`\(command)` (docs/operations.md) exits \(result.status): \(result.stdout)\(result.stderr)")
            if command.hasPrefix("shardflow systemd install") {
                afterGenerator = true
                printedCommands = result.stdout.components(separatedBy: "# ---- to enable").last!
                    .split(separator: "\n").dropFirst().map(String.init).filter { !$0.hasPrefix("#") }
            } else if afterGenerator {
                documentedCommands.append(command)
            }
        }
        #expect(printedCommands == documentedCommands, "the commands `shardflow systemd install` prints are the documented ones")
        print("real systemd: installed at \(elapsed())")

        // Runtime directory and sockets: owned by shardflow from the start.
        #expect(container.exec("stat -c '%U %G %a' /run/shardflow").stdout == "shardflow shardflow 750\n")
        for socket in ["router-0", "reducer-0", "reducer-3"] {
            #expect(container.exec("stat -c '%U %G %a %F' /run/shardflow/\(socket).sock").stdout == "shardflow shardflow 600 socket\n", "\(socket).sock")
        }
        #expect(container.exec("stat -c '%a' /etc/shardflow/kcl-orders.properties /etc/shardflow/shardflow.conf").stdout == "640\n640\n")

        // Every service reaches READY (Type=notify: active only after READY=1) and says what it does.
        let services = ["shardflow-router.service", "shardflow-mapper@0.service", "shardflow-mapper@1.service"]
            + (0..<4).map { "shardflow-reducer@\($0).service" }
        #expect(container.wait(60) { services.allSatisfy { container.property($0, "ActiveState") == "active" } },
                "\(services.map { "\($0): \(container.property($0, "ActiveState"))" })")
        for service in services {
            #expect(!container.property(service, "StatusText").isEmpty, "\(service) reports a status")
        }
        // The metrics service starts on its socket's first connection.
        #expect(container.property("shardflow-metrics.socket", "ActiveState") == "active")
        #expect(container.property("shardflow-metrics.service", "ActiveState") == "inactive")
        let scrape = container.exec("python3 -c 'import urllib.request; print(urllib.request.urlopen(\"http://127.0.0.1:9464/metrics\", timeout=30).read().decode())'")
        #expect(scrape.status == 0 && scrape.stdout.contains("shardflow_reducer_"), "scrape: \(scrape.stderr) \(scrape.stdout.prefix(500))")
        #expect(container.property("shardflow-metrics.service", "ActiveState") == "active")

        // ---- Records through shardflow-kcl@orders; a reducer killed with SIGKILL mid-flow.
        let output = root + "/var/lib/shardflow/output"
        #expect(container.wait(60) { ((try? Harness.outputItems(atPath: output)) ?? []).count > 500 }, "items reach the output")
        let reducer = "shardflow-reducer@1.service"
        let killed = container.property(reducer, "MainPID")
        #expect(container.property("shardflow-kcl@orders.service", "ActiveState") == "active", "the kill lands mid-flow")
        container.exec("kill -9 \(killed)")
        #expect(container.wait(30) { container.property(reducer, "ActiveState") == "active" && container.property(reducer, "MainPID") != killed })
        #expect(container.property(reducer, "NRestarts") == "1", "systemd restarted the killed reducer")
        #expect(container.wait(120) { container.property("shardflow-kcl@orders.service", "ActiveState") == "inactive" }, "the shard is played to its end")
        #expect(container.property("shardflow-kcl@orders.service", "Result") == "success")
        let firstOrders = try #require(summaries(container, "orders").first, "the driver's summary is in the journal")
        #expect(firstOrders.records == 6000 && firstOrders.exit == 0 && firstOrders.ended == "shardEnded" && firstOrders.checkpoints.last == "SHARD_END",
                "\(firstOrders)")
        #expect(try numbers(in: output, shard: firstOrders.shard) == Set(0..<6000), "every record of the shard reached the output despite the kill")
        #expect(container.exec("stat -c '%U %a' /var/lib/shardflow/shardflow-kcl-orders.properties").stdout == "shardflow 640\n", "the merged properties are not world-readable")
        let journal = container.exec("journalctl -u 'shardflow-*' -o cat --no-pager").stdout
        #expect(!journal.contains("Failed to set thread priority") && !journal.contains("Permission denied"), "no start-up noise: \(journal.split(separator: "\n").filter { $0.contains("thread priority") || $0.contains("Permission denied") }.prefix(3))")
        print("real systemd: 6000 records through kcl@orders with a reducer killed, at \(elapsed())")

        // ---- The watchdog replaces a hung router (WatchdogSec shortened by a drop-in).
        container.exec("mkdir -p /etc/systemd/system/shardflow-router.service.d && printf '[Service]\\nWatchdogSec=5s\\n' > /etc/systemd/system/shardflow-router.service.d/watchdog.conf && systemctl daemon-reload && systemctl restart shardflow-router.service")
        #expect(container.wait(30) { container.property("shardflow-router.service", "ActiveState") == "active" })
        let hung = container.property("shardflow-router.service", "MainPID")
        let stopped = Date()
        container.exec("kill -STOP \(hung)")
        let replaced = container.wait(40) {
            let pid = container.property("shardflow-router.service", "MainPID")
            return pid != hung && pid != "0" && container.property("shardflow-router.service", "ActiveState") == "active"
        }
        let replacedAfter = Date().timeIntervalSince(stopped)
        #expect(replaced && replacedAfter < 5 + 5 + 1 + 5, "a hung router is replaced within WatchdogSec + TimeoutAbortSec + RestartSec (+5 s): took \(replacedAfter) s")
        let routerJournal = container.exec("journalctl -u shardflow-router.service -o cat --no-pager").stdout
        #expect(routerJournal.contains("Watchdog timeout"), "systemd names the watchdog in the journal")
        #expect(routerJournal.contains("status=6/ABRT"), "the watchdog's SIGABRT ends the process (no backtracer keeps it alive)")
        print(String(format: "real systemd: the SIGSTOPped router was replaced after %.1f s (WatchdogSec=5s)", replacedAfter))
        container.exec("rm -r /etc/systemd/system/shardflow-router.service.d && systemctl daemon-reload")

        // ---- Scale up, then a second stream.
        let up = container.exec("shardflow systemd scale --reducers 6 --mappers 3")
        #expect(up.status == 0, "scale up: \(up.stdout)\(up.stderr)")
        let more = (0..<6).map { "shardflow-reducer@\($0).service" } + (0..<3).map { "shardflow-mapper@\($0).service" }
        #expect(container.wait(60) { more.allSatisfy { container.property($0, "ActiveState") == "active" } },
                "\(more.map { "\($0): \(container.property($0, "ActiveState"))" })")
        #expect(container.property("shardflow-reducer@5.service", "NRestarts") == "0", "started by its socket on the first connection")
        let configuration = try String(contentsOfFile: root + "/etc/shardflow/shardflow.conf", encoding: .utf8)
        #expect(configuration.contains("SHARDFLOW_REDUCERS=6\n") && configuration.contains("--mappers 3\n"))
        let adding = Self.codeBlock(after: "### Adding a stream", in: docs)
        try #require(adding.count == 2, "docs/operations.md: Adding a stream")
        for command in adding {
            let result = container.exec(command, in: "/srv/install")
            #expect(result.status == 0, "`\(command)`: \(result.stderr)")
        }
        #expect(container.wait(120) { summaries(container, "users").count == 1 }, "the users stream is played")
        let users = try #require(summaries(container, "users").first)
        #expect(try numbers(in: output, shard: users.shard) == Set(0..<2000))
        let onNewReducers = try Harness.outputItems(atPath: output).filter { $0.shardId == users.shard && ($0.file == "reducer-4.jsonl" || $0.file == "reducer-5.jsonl") }
        #expect(!onNewReducers.isEmpty, "items reach the added reducers")
        print("real systemd: scaled to 6 reducers and 3 mappers, users stream added, at \(elapsed())")

        // ---- Scale down; the stream plays again on the remaining reducers.
        let down = container.exec("shardflow systemd scale --reducers 2 --mappers 1")
        #expect(down.status == 0, "scale down: \(down.stdout)\(down.stderr)")
        for unit in (2..<6).flatMap({ ["shardflow-reducer@\($0).socket", "shardflow-reducer@\($0).service"] }) + ["shardflow-mapper@1.service", "shardflow-mapper@2.service"] {
            #expect(container.property(unit, "ActiveState") == "inactive", "\(unit) stopped")
            #expect(container.exec("systemctl is-enabled \(unit)").stdout.hasPrefix("disabled"), "\(unit) disabled")
        }
        let wants = try FileManager.default.contentsOfDirectory(atPath: root + "/etc/systemd/system/shardflow.target.wants").sorted()
        #expect(wants == ["shardflow-kcl@orders.service", "shardflow-kcl@users.service", "shardflow-mapper@0.service", "shardflow-metrics.socket",
                          "shardflow-reducer@0.socket", "shardflow-reducer@1.socket", "shardflow-router.socket"], "\(wants)")
        container.exec("systemctl restart shardflow-kcl@users.service")
        #expect(container.wait(120) { summaries(container, "users").count == 2 })
        let again = try #require(summaries(container, "users").last)
        #expect(try numbers(in: output, shard: again.shard) == Set(0..<2000))
        #expect(try Harness.outputItems(atPath: output).filter { $0.shardId == again.shard }.allSatisfy { $0.file == "reducer-0.jsonl" || $0.file == "reducer-1.jsonl" })
        print("real systemd: scaled down to 2 reducers and 1 mapper at \(elapsed())")

        // ---- Hardening scores, as documented.
        for (unit, documented) in Self.documentedScores(in: docs) {
            let instance = unit.replacingOccurrences(of: "@.", with: "@0.").replacingOccurrences(of: "kcl@0.", with: "kcl@orders.")
            let report = container.exec("systemd-analyze security \(instance) --no-pager").stdout
            // "→ Overall exposure level for UNIT: 0.5 SAFE :-}"
            let score = report.split(separator: "\n").last { $0.contains("Overall exposure level") }
                .flatMap { $0.components(separatedBy: "\(instance): ").last?.split(separator: " ").first }.map(String.init)
            #expect(score == documented, "systemd-analyze security \(instance): \(score ?? "?"), documented \(documented)")
        }

        // ---- Stop drains in order: daemons, router, mappers, reducers.
        container.exec("systemctl restart shardflow-kcl@orders.service")
        #expect(container.wait(60) { container.exec("journalctl -u shardflow-kcl@orders.service -o cat --no-pager | grep -c 'playing one shard'").stdout == "2\n" })
        usleep(2_000_000)
        let stop = container.exec("systemctl stop shardflow.target", timeout: 120)
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(container.wait(60) { summaries(container, "orders").count == 2 }, "the interrupted daemon's driver reports")
        let interrupted = try #require(summaries(container, "orders").last)
        #expect(interrupted.ended == "shutdownRequested" && interrupted.exit == 0 && interrupted.records < 6000, "\(interrupted)")
        // Sequence numbers are 49 followed by the record number in 18 digits.
        let lastCheckpoint = try #require(interrupted.checkpoints.last.flatMap { Int($0.dropFirst(2)) }, "the worker checkpointed on shutdownRequested: \(interrupted)")
        let checkpointed = lastCheckpoint + 1
        #expect(checkpointed > 0)
        #expect(try numbers(in: output, shard: interrupted.shard).isSuperset(of: 0..<checkpointed), "no checkpoint past an item not in the output")
        #expect(container.property("shardflow-kcl@orders.service", "Result") == "success", "the daemon stopped cleanly")
        let order = ["shardflow-kcl@orders.service", "shardflow-router.service", "shardflow-mapper@0.service", "shardflow-reducer@0.service"]
        for (earlier, later) in zip(order, order.dropFirst()) {
            let stoppedAt = UInt64(container.property(earlier, "InactiveEnterTimestampMonotonic")) ?? .max
            let stopping = UInt64(container.property(later, "ActiveExitTimestampMonotonic")) ?? 0
            #expect(stoppedAt <= stopping, "\(earlier) has stopped before \(later) begins to stop")
        }
        print("real systemd: stopped in order at \(elapsed()), \(checkpointed) records checkpointed before the stop")

        // ---- Removal, as documented.
        for command in Self.codeBlock(after: "### Removal", in: docs) where !command.hasPrefix("#") {
            let result = container.exec(command, in: "/srv/install")
            #expect(result.status == 0, "`\(command)`: \(result.stdout)\(result.stderr)")
        }
        #expect(container.exec("systemctl list-units --all --no-legend 'shardflow*'").stdout.isEmpty)
        #expect(container.exec("systemctl list-unit-files --no-legend 'shardflow*'").stdout.isEmpty)
        #expect(container.exec("test -e /run/shardflow").status != 0, "/run/shardflow is gone")
        for file in ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"] {
            #expect(!((try? String(contentsOfFile: root + file, encoding: .utf8)) ?? "").contains("shardflow"), "\(file) names no shardflow")
        }
        let leftovers = FileManager.default.enumerator(atPath: container.upper)?.compactMap { $0 as? String }
            .filter { ($0 as NSString).lastPathComponent.contains("shardflow") } ?? []
        #expect(leftovers.isEmpty, "removal leaves nothing: \(leftovers)")
        print("real systemd: removed at \(elapsed())")
    }

    /// The lines of the first code block after `heading`, joined at trailing backslashes.
    static func codeBlock(after heading: String, in text: String) -> [String] {
        guard let start = text.range(of: "\n" + heading + "\n") else { return [] }
        let rest = text[start.upperBound...]
        guard let open = rest.range(of: "```\n"), let close = rest[open.upperBound...].range(of: "\n```") else { return [] }
        return rest[open.upperBound..<close.lowerBound].replacingOccurrences(of: "\\\n", with: " ")
            .split(separator: "\n").map { String($0) }
    }

    /// The `systemd-analyze security` table of docs/operations.md: unit → score.
    static func documentedScores(in docs: String) -> [(String, String)] {
        docs.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2, cells[0].hasPrefix("`shardflow-"), cells[0].hasSuffix(".service`"),
                  let score = cells[1].split(separator: " ").first, Double(score) != nil else { return nil }
            return (String(cells[0].dropFirst().dropLast()), String(score))
        }
    }

    /// What the stand-in daemon's driver printed for each shard of `stream`, in order.
    struct DriverSummary: Decodable, CustomStringConvertible {
        var shard: String
        var records: Int
        var checkpoints: [String]
        var exit: Int
        var ended: String
        var description: String { "\(shard): \(records) records, ended \(ended), exit \(exit), checkpoints \(checkpoints.suffix(3))" }
    }

    private func summaries(_ container: SystemdContainer, _ stream: String) -> [DriverSummary] {
        container.exec("journalctl -u shardflow-kcl@\(stream).service -o cat --no-pager").stdout.split(separator: "\n")
            .filter { $0.hasPrefix("{\"shard\"") }
            .compactMap { try? JSONDecoder().decode(DriverSummary.self, from: Data($0.utf8)) }
    }

    /// The record numbers (`{"n": i}`) of `shard` in the output.
    private func numbers(in output: String, shard: String) throws -> Set<Int> {
        Set(try Harness.outputItems(atPath: output).filter { $0.shardId == shard }.compactMap { item in
            (try? JSONSerialization.jsonObject(with: Data(item.data)) as? [String: Int])?["n"]
        })
    }
}
