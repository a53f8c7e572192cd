import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import ShardFlowRuntime

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// Starts a program in the background (its own process group), collecting its output.
    final class Background: @unchecked Sendable {
        let process = Process()
        private var collector: OutputCollector!

        /// - Parameter shielded: run the program under a shell that outlives it. Foundation notices a
        ///   child's exit when the child closes an inherited socket, then blocks in `waitpid`; a program
        ///   that closes inherited descriptors while it keeps running (systemd-socket-activate) would
        ///   stall that thread and with it every other child's exit.
        init(_ program: String, _ arguments: [String], directory: String, environment: [String: String] = [:],
             shielded: Bool = false) throws {
            if shielded {
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", #""$@"; exit $?"#, "sh", program] + arguments
            } else {
                process.executableURL = URL(fileURLWithPath: program)
                process.arguments = arguments
            }
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let output = Pipe(), errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            collector = OutputCollector(output: output, errors: errors)
            process.terminationHandler = { [exited] _ in exited.signal() }
            try process.run()
        }

        private let exited = DispatchSemaphore(value: 0)

        /// SIGTERM to the whole group (SIGKILL after 5 s), then its output.
        func stop() -> (String, String) {
            Glibc.kill(-process.processIdentifier, SIGTERM)
            if exited.wait(timeout: .now() + 5) == .timedOut { ProcessEvents.killGroup(process.processIdentifier) }
            process.waitUntilExit()
            return collector.finish()
        }

        /// SIGKILL to the whole group; returns once every process of it exited.
        func kill() {
            ProcessEvents.killGroup(process.processIdentifier)
            process.waitUntilExit()
        }

        /// Starts `command` (its program first).
        convenience init(_ command: [String], directory: String) throws {
            try self.init(command[0], Array(command.dropFirst()), directory: directory)
        }

        /// Waits until stderr contains `text`.
        func waitForLog(_ text: String, timeout: TimeInterval = 60) -> Bool {
            collector.waitForStderr(timeout: timeout) { $0.contains(text) }
        }

        /// Waits until stdout contains `text`.
        func waitForOutput(_ text: String, timeout: TimeInterval = 60) -> Bool {
            collector.waitForStdout(timeout: timeout) { $0.contains(text) }
        }
    }

    /// Collects sd_notify messages sent to sockets in a directory; tests wait on them.
    final class NotifyRecorder: @unchecked Sendable {
        let hub = NotifyHub()
        let messages = NIOLockedValueBox([String: [[String: String]]]())
        private let arrived = NSCondition()

        func socket(_ path: String, name: String) throws -> String {
            try hub.listen(at: path) { [messages, arrived] fields in
                messages.withLockedValue { $0[name, default: []].append(fields) }
                arrived.lock()
                arrived.broadcast()
                arrived.unlock()
            }
            return path
        }

        /// Waits until `condition` holds, re-checking whenever a message arrives.
        func wait(_ seconds: TimeInterval = 30, until condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            arrived.lock()
            defer { arrived.unlock() }
            while !condition() {
                guard arrived.wait(until: deadline) else { return condition() }
            }
            return true
        }

        func start() throws { try hub.start() }
        func stop() { hub.stop() }

        func ready(_ name: String) -> Bool {
            messages.withLockedValue { $0[name]?.contains { $0["READY"] == "1" } ?? false }
        }

        /// Messages from `name` that set `field`.
        func count(_ name: String, _ field: String) -> Int {
            messages.withLockedValue { $0[name]?.filter { $0[field] == "1" }.count ?? 0 }
        }

        func statuses(_ name: String) -> [String] {
            messages.withLockedValue { $0[name]?.compactMap { $0["STATUS"] } ?? [] }
        }
    }

    @Test("deploy/ holds exactly what `shardflow systemd` generates for the default topology")
    func deployDirectoryIsGenerated() throws {
        let harness = try Harness("deploy")
        defer { harness.remove() }
        let result = try harness.run(Harness.binDirectory + "/shardflow", ["systemd", "--flat", harness.path("units")])
        #expect(result.status == 0, "\(result.stderr)")
        let generated = try FileManager.default.contentsOfDirectory(atPath: harness.path("units")).sorted()
        let committed = try FileManager.default.contentsOfDirectory(atPath: Harness.repository + "/deploy")
            .filter { $0 != "README.md" && $0 != "grafana-dashboard.json" }.sorted()
        #expect(generated == committed)
        for name in generated {
            let fresh = try String(contentsOfFile: harness.path("units/" + name), encoding: .utf8)
            let kept = try String(contentsOfFile: Harness.repository + "/deploy/" + name, encoding: .utf8)
            #expect(fresh == kept, "deploy/\(name) differs from the generator: run `shardflow systemd --flat deploy`")
        }
    }

    @Test("systemd-analyze verify prints nothing for every unit, template instances included", arguments: [(2, 1), (4, 2)])
    func unitsVerify(reducers: Int, mappers: Int) throws {
        let harness = try Harness("verify")
        defer { harness.remove() }
        // systemd-analyze leaves a timestamp file in /run/systemd: take it away again if it made it.
        let stamp = "/run/systemd/systemd-units-load"
        let stampExisted = FileManager.default.fileExists(atPath: stamp)
        defer { if !stampExisted { try? FileManager.default.removeItem(atPath: stamp) } }
        let units = harness.path("units")
        // ExecStart binaries must exist where the lint runs: point the units at the build.
        let generated = try harness.run(Harness.binDirectory + "/shardflow", [
            "systemd", "--flat", units, "--bin-dir", Harness.binDirectory, "--reducers", String(reducers), "--mappers", String(mappers),
        ])
        try #require(generated.status == 0, "\(generated.stderr)")
        let instances = ["shardflow.target", "shardflow-reducers.target", "shardflow-mappers.target", "shardflow-router.socket", "shardflow-router.service", "shardflow-kcl@main.service", "shardflow-kcl@users.service", "shardflow-metrics.socket", "shardflow-metrics.service"]
            + (0..<reducers).flatMap { ["shardflow-reducer@\($0).socket", "shardflow-reducer@\($0).service"] }
            + (0..<mappers).map { "shardflow-mapper@\($0).service" }
        let result = try harness.run("/usr/bin/systemd-analyze", ["verify"] + instances.map { units + "/" + $0 },
                                     environment: ["SYSTEMD_UNIT_PATH": units + ":"])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "systemd-analyze verify: \(result.stdout)\(result.stderr)")
        // The lint is real: a bad key makes it speak.
        let router = units + "/shardflow-router.service"
        try (try String(contentsOfFile: router, encoding: .utf8)).replacingOccurrences(of: "Type=notify", with: "Type=notify\nBogusKey=1")
            .write(toFile: router, atomically: true, encoding: .utf8)
        let broken = try harness.run("/usr/bin/systemd-analyze", ["verify", router], environment: ["SYSTEMD_UNIT_PATH": units + ":"])
        #expect(broken.stderr.contains("Unknown key 'BogusKey'"))
    }

    @Test("`shardflow systemd` prints units, configuration and the commands for N reducers")
    func systemdCommand() throws {
        let harness = try Harness("systemdcommand")
        defer { harness.remove() }
        let printed = try harness.run(Harness.binDirectory + "/shardflow", ["systemd", "--reducers", "3", "--mappers", "2"])
        #expect(printed.status == 0)
        #expect(printed.stdout.contains("# ---- /etc/systemd/system/shardflow-reducer@.socket"))
        #expect(printed.stdout.contains("SHARDFLOW_REDUCERS=3"))
        #expect(printed.stdout.contains("systemctl enable shardflow.target shardflow-router.socket shardflow-reducer@0.socket shardflow-reducer@1.socket shardflow-reducer@2.socket shardflow-mapper@0.service shardflow-mapper@1.service shardflow-kcl@main.service shardflow-metrics.socket"))
        #expect(printed.stdout.contains("SHARDFLOW_ROUTER_OPTIONS=--ordering key --mappers 2\n"), "per-key order by default")
        #expect(printed.stdout.contains("# later: shardflow systemd scale --reducers N"))
        #expect(printed.stdout.contains("$SHARDFLOW_ROUTER_OPTIONS"), "the router unit passes the options on")
        #expect(printed.stdout.contains("SHARDFLOW_KCL_MAIN_CLASS=software.amazon.kinesis.multilang.MultiLangDaemon\n"))
        // DynamoDB Streams, two streams, a filter, no ordering.
        let dynamo = try harness.run(Harness.binDirectory + "/shardflow", [
            "systemd", "--extract", "dynamodb", "--stream", "orders", "--stream", "users", "--ordering", "none",
            "--filter", #"{"eventName": ["INSERT", "MODIFY"]}"#, "--prefix", harness.path("dynamo"),
        ])
        #expect(dynamo.status == 0, "\(dynamo.stderr)")
        let configuration = try String(contentsOfFile: harness.path("dynamo/etc/shardflow/shardflow.conf"), encoding: .utf8)
        #expect(configuration.contains("SHARDFLOW_KCL_MAIN_CLASS=com.amazonaws.services.dynamodbv2.streamsadapter.StreamsMultiLangDaemon\n"))
        #expect(configuration.contains("SHARDFLOW_MAPPER_OPTIONS=--extract dynamodb --key partitionKey --filter-file /etc/shardflow/filters.jsonl\n"))
        #expect(configuration.contains("SHARDFLOW_ROUTER_OPTIONS=--ordering none --mappers 1\n"))
        let filters = try String(contentsOfFile: harness.path("dynamo/etc/shardflow/filters.jsonl"), encoding: .utf8)
        #expect(filters.hasSuffix(#"{"eventName": ["INSERT", "MODIFY"]}"# + "\n"))
        #expect(dynamo.stdout.contains("shardflow-kcl@orders.service shardflow-kcl@users.service"))
        #expect(dynamo.stdout.contains("install -m 0640 -g shardflow users.properties /etc/shardflow/kcl-users.properties\n"))
        let unit = try String(contentsOfFile: harness.path("dynamo/etc/systemd/system/shardflow-kcl@.service"), encoding: .utf8)
        #expect(unit.contains("shardflow kcl --stream %i --properties /etc/shardflow/kcl-%i.properties --kcl-main-class ${SHARDFLOW_KCL_MAIN_CLASS}"))
        let badFilter = try harness.run(Harness.binDirectory + "/shardflow", ["systemd", "--filter", "{}"])
        #expect(badFilter.status == 64 && badFilter.stderr.contains("a pattern is a JSON object naming at least one field"))
        let written = try harness.run(Harness.binDirectory + "/shardflow", ["systemd", "--reducers", "3", "--prefix", harness.path("root")])
        #expect(written.status == 0)
        for path in ["etc/systemd/system/shardflow-kcl@.service", "etc/shardflow/shardflow.conf", "usr/lib/sysusers.d/shardflow.conf"] {
            #expect(FileManager.default.fileExists(atPath: harness.path("root/" + path)), "\(path)")
        }
    }

    @Test("router and reducer adopt sockets passed by socket activation, report READY=1, and serve end to end")
    func socketActivation() throws {
        let harness = try Harness("activation")
        defer { harness.remove() }
        let runtime = harness.runtimeDirectory
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let notify = NotifyRecorder()
        let routerNotify = try notify.socket(runtime + "/n-router", name: "router")
        let reducerNotify = try notify.socket(runtime + "/n-reducer", name: "reducer")
        try notify.start()
        defer { notify.stop() }
        let bin = Harness.binDirectory
        let router = try Background("/usr/bin/systemd-socket-activate", [
            "-l", runtime + "/router-0.sock", "--fdname=router", "-E", "NOTIFY_SOCKET=\(routerNotify)", "-E", "WATCHDOG_USEC=400000",
            bin + "/shardflow-router", "--index", "0", "--runtime-dir", runtime + "/unused",
        ], directory: harness.directory, shielded: true)
        let reducer = try Background("/usr/bin/systemd-socket-activate", [
            "-l", runtime + "/reducer-0.sock", "--fdname=reducer", "-E", "NOTIFY_SOCKET=\(reducerNotify)",
            bin + "/shardflow-reducer", "--index", "0", "--runtime-dir", runtime + "/unused", "--processor", "jsonl:out",
        ], directory: harness.directory, shielded: true)
        #expect(ProcessEvents.waitForFile(runtime + "/reducer-0.sock", timeout: 10))
        // The first connection (the mapper's) makes each activator exec its service.
        let mapper = try Background(bin + "/shardflow-mapper", ["--runtime-dir", runtime, "--reducers", "1"], directory: harness.directory)
        let driven = try harness.python("mld_driver.py", ["--records", "500", "--batch", "50", "--", bin + "/shardflow-worker", "--runtime-dir", runtime])
        #expect(driven.status == 0, "\(driven.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(driven.stdout.utf8)) as? [String: Any]
        #expect((summary?["checkpoints"] as? [String])?.last == "SHARD_END")
        #expect(notify.wait(10) { notify.ready("router") && notify.ready("reducer") }, "both report READY=1")
        #expect(notify.statuses("router").first?.contains("workers=") == true)
        #expect(notify.statuses("reducer").first?.contains("items=") == true)
        #expect(notify.wait(5) { notify.count("router", "WATCHDOG") >= 2 }, "the router pings the watchdog when WATCHDOG_USEC is set")
        #expect(notify.count("reducer", "WATCHDOG") == 0, "and nobody else does")
        let (_, mapperErrors) = mapper.stop()
        let (_, routerErrors) = router.stop()
        let (_, reducerErrors) = reducer.stop()
        #expect(notify.wait(5) { notify.count("router", "STOPPING") == 1 && notify.count("reducer", "STOPPING") == 1 },
                "STOPPING=1 on drain")
        #expect(routerErrors.contains("router 0 listening on socket-activated fd 3 (router)"), "\(routerErrors)")
        #expect(reducerErrors.contains("reducer 0 listening on socket-activated fd 3 (reducer)"), "\(reducerErrors)")
        #expect(!FileManager.default.fileExists(atPath: runtime + "/unused/router-0.sock")
                && !FileManager.default.fileExists(atPath: runtime + "/unused/reducer-0.sock"), "no listening socket of their own (only control sockets)")
        let numbers = try harness.outputItems(in: "out").map { try JSONSerialization.jsonObject(with: Data($0.data)) as! [String: Int] }
        #expect(Set(numbers.compactMap { $0["n"] }) == Set(0..<500), "mapper stderr: \(mapperErrors.suffix(1000))")
    }

    @Test("a reducer restarted while its socket stays open: mappers wait instead of failing, nothing is lost")
    func restartBehindHeldSocket() throws {
        let harness = try Harness("heldsocket")
        defer { harness.remove() }
        let runtime = harness.runtimeDirectory
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let bin = Harness.binDirectory
        let router = try Background(bin + "/shardflow-router", ["--runtime-dir", runtime], directory: harness.directory)
        let activator = try Background("/usr/bin/env", [
            "python3", Harness.fixtures + "/hold_socket.py", "--socket", runtime + "/reducer-0.sock", "--name", "reducer", "--delay", "1.5", "--",
            bin + "/shardflow-reducer", "--index", "0", "--runtime-dir", runtime, "--processor", "jsonl:out", "--log-level", "info",
        ], directory: harness.directory)
        #expect(ProcessEvents.waitForFile(runtime + "/reducer-0.sock", timeout: 10))
        let mapper = try Background(bin + "/shardflow-mapper", ["--runtime-dir", runtime, "--reducers", "1", "--log-level", "info"],
                                    directory: harness.directory)
        let driver = try Background("/usr/bin/env", [
            "python3", Harness.fixtures + "/mld_driver.py", "--records", "3000", "--batch", "100", "--pause", "0.05", "--",
            bin + "/shardflow-worker", "--runtime-dir", runtime,
        ], directory: harness.directory)
        #expect(ProcessEvents.waitForLines(in: harness.path("out"), atLeast: 300) { $0.hasPrefix("reducer-") })
        let pid = Self.pid(program: "shardflow-reducer", argumentsContaining: [runtime])
        let killed = pid != nil
        if let pid { kill(pid, SIGKILL) }
        driver.process.waitUntilExit()
        let (driverOut, driverErrors) = driver.stop()
        #expect(driver.process.terminationStatus == 0, "\(driverErrors.suffix(2000))")
        let (_, mapperErrors) = mapper.stop()
        let (_, activatorErrors) = activator.stop()
        _ = router.stop()
        #expect(killed)
        #expect(activatorErrors.contains("restarting in 1.5s with the same socket"))
        #expect(mapperErrors.contains("lost reducer 0"), "the mapper saw the reducer go")
        #expect(!mapperErrors.contains("cannot connect"), "its reconnect waited in the backlog: \(mapperErrors.suffix(2000))")
        let summary = try JSONSerialization.jsonObject(with: Data(driverOut.utf8)) as? [String: Any]
        #expect((summary?["checkpoints"] as? [String])?.last == "SHARD_END")
        let numbers = try harness.outputItems(in: "out").map { try JSONSerialization.jsonObject(with: Data($0.data)) as! [String: Int] }
        #expect(Set(numbers.compactMap { $0["n"] }) == Set(0..<3000), "every record at least once")
    }

    @Test("`shardflow systemd scale` and `remove` change only what they must, in a safe order (dry run on an installed tree)")
    func scaleAndRemoveCommands() throws {
        let harness = try Harness("scale")
        defer { harness.remove() }
        let root = harness.path("root")
        let shardflow = Harness.binDirectory + "/shardflow"
        let installed = try harness.run(shardflow, ["systemd", "install", "--reducers", "4", "--mappers", "2", "--stream", "orders", "--prefix", root])
        try #require(installed.status == 0, "\(installed.stderr)")
        // A local edit the scale must keep, and the instances `systemctl enable` would link.
        let configurationPath = root + "/etc/shardflow/shardflow.conf"
        let edited = try String(contentsOfFile: configurationPath, encoding: .utf8).replacingOccurrences(of: "SHARDFLOW_LOG_LEVEL=info", with: "SHARDFLOW_LOG_LEVEL=debug")
        try edited.write(toFile: configurationPath, atomically: true, encoding: .utf8)
        let wants = root + "/etc/systemd/system/shardflow.target.wants"
        try FileManager.default.createDirectory(atPath: wants, withIntermediateDirectories: true)
        for unit in (0..<4).map({ "shardflow-reducer@\($0).socket" }) + ["shardflow-mapper@0.service", "shardflow-mapper@1.service", "shardflow-kcl@orders.service"] {
            try FileManager.default.createSymbolicLink(atPath: wants + "/" + unit, withDestinationPath: "/etc/systemd/system/" + unit)
        }
        let down = try harness.run(shardflow, ["systemd", "scale", "--reducers", "2", "--mappers", "3", "--dry-run", "--root", root])
        #expect(down.status == 0, "\(down.stderr)")
        let commands = down.stdout.split(separator: "\n").filter { $0.hasPrefix("systemctl") }
        #expect(commands == [
            "systemctl restart shardflow-router.service",
            "systemctl enable --now shardflow-mapper@2.service",
            "systemctl restart 'shardflow-mapper@*.service'",
            "systemctl disable --now shardflow-reducer@2.socket shardflow-reducer@2.service shardflow-reducer@3.socket shardflow-reducer@3.service",
        ], "mappers learn the new count before the reducers beyond it go: \(down.stdout)")
        #expect(try String(contentsOfFile: configurationPath, encoding: .utf8) == edited, "a dry run changes nothing")
        #expect(down.stdout.contains("# would rewrite \(configurationPath)"))
        let noCount = try harness.run(shardflow, ["systemd", "scale"])
        #expect(noCount.status == 64 && noCount.stderr.contains("give --reducers N, --mappers M or both"))
        let absent = try harness.run(shardflow, ["systemd", "scale", "--reducers", "3", "--root", harness.path("nothing")])
        #expect(absent.status != 0 && absent.stderr.contains("shardflow.conf does not exist: install the group first"), "\(absent.stderr)")
        // Installing again keeps the edited configuration.
        let again = try harness.run(shardflow, ["systemd", "install", "--reducers", "4", "--prefix", root])
        #expect(again.status == 0 && again.stdout.contains("kept \(configurationPath)"))
        #expect(try String(contentsOfFile: configurationPath, encoding: .utf8) == edited)
        #expect(FileManager.default.fileExists(atPath: configurationPath + ".new"))

        let removal = try harness.run(shardflow, ["systemd", "remove", "--purge", "--dry-run", "--root", root])
        #expect(removal.status == 0, "\(removal.stderr)")
        let lines = removal.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "systemctl stop shardflow.target", "an ordered drain first")
        #expect(lines.contains { line in
                    let words = line.split(separator: " ")
                    return words.starts(with: ["systemctl", "disable"])
                        && ["shardflow-reducer@3.socket", "shardflow-mapper@1.service", "shardflow-kcl@orders.service", "shardflow.target"].allSatisfy { words.contains(Substring($0)) }
                },
                "every enabled instance is disabled by name: \(removal.stdout)")
        #expect(lines.contains("rm -rf \(root)/etc/systemd/system/shardflow.target.wants"))
        #expect(lines.contains("rm -rf \(root)/usr/lib/tmpfiles.d/shardflow.conf"))
        #expect(lines.contains("userdel shardflow"))
        #expect(FileManager.default.fileExists(atPath: root + "/etc/systemd/system/shardflow.target"), "a dry run removes nothing")
    }

    @Test("`shardflow kcl` writes the merged properties and execs java with them")
    func kclCommand() throws {
        let harness = try Harness("kcl")
        defer { harness.remove() }
        try "streamName = orders\napplicationName = app\n".write(toFile: harness.path("app.properties"), atomically: true, encoding: .utf8)
        // A stand-in for java that prints its arguments.
        try "#!/bin/sh\necho \"java $*\"\n".write(toFile: harness.path("java"), atomically: true, encoding: .utf8)
        chmod(harness.path("java"), 0o755)
        let result = try harness.run(Harness.binDirectory + "/shardflow", [
            "kcl", "--properties", harness.path("app.properties"), "--kcl-classpath", "/opt/kcl/*", "--java", harness.path("java"),
            "--runtime-dir", "/run/sf", "--routers", "2", "--output", harness.path("merged.properties"), "--checkpoint-interval", "10s",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            == "java -cp /opt/kcl/* software.amazon.kinesis.multilang.MultiLangDaemon \(harness.path("merged.properties"))")
        let merged = try String(contentsOfFile: harness.path("merged.properties"), encoding: .utf8)
        #expect(merged.contains("streamName = orders"))
        #expect(merged.contains("executableName = \(Harness.binDirectory)/shardflow-worker --runtime-dir /run/sf --routers 2 --log-level info --stream orders --checkpoint-interval 10s"), "the stream is named after the one the properties read")
        #expect(merged.contains("callProcessRecordsEvenForEmptyRecordList = true"))
        #expect(merged.contains("shutdownGraceMillis = 30000"))

        let noJava = try harness.run(Harness.binDirectory + "/shardflow", [
            "kcl", "--properties", harness.path("app.properties"), "--kcl-classpath", "x", "--java", "/nonexistent/java",
            "--output", harness.path("m2.properties"),
        ])
        #expect(noJava.status != 0)
        #expect(noJava.stderr.contains("cannot run /nonexistent/java"))
    }

    @Test("`shardflow run --source kcl:` runs the daemon with merged properties; its workers feed the group")
    func kclSource() throws {
        let harness = try Harness("kclsource")
        defer { harness.remove() }
        // The KCL multilang jars (the stand-in java below does not read them).
        try FileManager.default.createDirectory(atPath: harness.path("kcl"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: harness.path("kcl/amazon-kinesis-client-multilang.jar"), contents: Data())
        try "streamName = orders\napplicationName = app\nshutdownGraceMillis = 0\n"
            .write(toFile: harness.path("app.properties"), atomically: true, encoding: .utf8)
        // A stand-in for the Java daemon: checks its command line, keeps a copy of the properties
        // (the runtime directory goes at exit), and plays the daemon for one shard with the
        // properties' executableName — the real shardflow-worker, connected to the group.
        let stand = """
            #!/bin/sh
            [ "$1" = "-cp" ] && [ "$3" = "software.amazon.kinesis.multilang.MultiLangDaemon" ] || { echo "bad arguments: $*" >&2; exit 64; }
            echo "$*" > \(harness.path("java-arguments"))
            cp "$4" \(harness.path("seen.properties"))
            exec python3 \(Harness.fixtures)/mld_driver.py --records 400 --batch 40 -- $(sed -n 's/^executableName = //p' "$4") > \(harness.path("driver.json"))
            """
        try stand.write(toFile: harness.path("java"), atomically: true, encoding: .utf8)
        chmod(harness.path("java"), 0o755)
        let result = try harness.launch([
            "--source", "kcl:" + harness.path("app.properties"), "--kcl-classpath", harness.path("kcl") + "/*", "--java", harness.path("java"),
            "--reducers", "2", "--mappers", "1", "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        let arguments = try String(contentsOfFile: harness.path("java-arguments"), encoding: .utf8)
        #expect(arguments.hasPrefix("-cp \(harness.path("kcl"))/* software.amazon.kinesis.multilang.MultiLangDaemon \(harness.runtimeDirectory)/"))
        let seen = try String(contentsOfFile: harness.path("seen.properties"), encoding: .utf8)
        #expect(seen.contains("streamName = orders"))
        #expect(seen.contains("executableName = \(Harness.binDirectory)/shardflow-worker --runtime-dir \(harness.runtimeDirectory)"))
        #expect(seen.contains("callProcessRecordsEvenForEmptyRecordList = true"))
        #expect(seen.contains("shutdownGraceMillis = 30000"), "0 skips the graceful hand-off, so it is replaced")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: harness.path("driver.json")))) as? [String: Any]
        #expect((summary?["checkpoints"] as? [String])?.last == "SHARD_END")
        #expect(summary?["exit"] as? Int == 0)
        let numbers = try harness.outputItems(in: "out").map { try JSONSerialization.jsonObject(with: Data($0.data)) as! [String: Int] }
        #expect(Set(numbers.compactMap { $0["n"] }) == Set(0..<400), "every record the daemon sent is in the output")
    }

    @Test("two kcl: sources run two daemons, one per stream; each stream's items carry its name")
    func twoKCLSources() throws {
        let harness = try Harness("kcltwo")
        defer { harness.remove() }
        // The KCL multilang jars (the stand-in java below does not read them).
        try FileManager.default.createDirectory(atPath: harness.path("kcl"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: harness.path("kcl/amazon-kinesis-client-multilang.jar"), contents: Data())
        try "streamName = orders\napplicationName = app\n".write(toFile: harness.path("orders.properties"), atomically: true, encoding: .utf8)
        try "streamName = arn:aws:dynamodb:eu-west-1:123456789012:table/Users/stream/2026-01-01T00:00:00.000\napplicationName = app\n"
            .write(toFile: harness.path("users.properties"), atomically: true, encoding: .utf8)
        let stand = """
            #!/bin/sh
            stream=$(sed -n 's/^executableName = .*--stream \\([^ ]*\\).*/\\1/p' "$4")
            cp "$4" \(harness.path("seen-"))$stream.properties
            exec python3 \(Harness.fixtures)/mld_driver.py --records 300 --batch 30 -- $(sed -n 's/^executableName = //p' "$4") > \(harness.path("driver-"))$stream.json
            """
        try stand.write(toFile: harness.path("java"), atomically: true, encoding: .utf8)
        chmod(harness.path("java"), 0o755)
        let result = try harness.launch([
            "--source", "kcl:" + harness.path("orders.properties"), "--source", "kcl:" + harness.path("users.properties"),
            "--kcl-classpath", harness.path("kcl") + "/*", "--java", harness.path("java"), "--reducers", "2", "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: harness.path("seen-orders.properties")))
        #expect(FileManager.default.fileExists(atPath: harness.path("seen-Users.properties")), "a DynamoDB stream is named after its table")
        let items = try harness.outputItems(in: "out")
        for stream in ["orders", "Users"] {
            let numbers = items.filter { $0.stream == stream }.map { try! JSONSerialization.jsonObject(with: Data($0.data)) as! [String: Int] }
            #expect(Set(numbers.compactMap { $0["n"] }) == Set(0..<300), "every record of \(stream)")
        }
    }
}
