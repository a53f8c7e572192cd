import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a new user meets first: mistakes caught before anything starts, a corrected run that
/// is not refused, `--reset` that does not duplicate output, Ctrl-C at a terminal.
extension EndToEnd {
    @Test("mistakes on the command line are reported before any process starts, each naming its option and value (exit 64)")
    func checksBeforeStarting() throws {
        let harness = try Harness("preflight")
        defer { harness.remove() }
        try harness.writeRecords(Harness.sampleRecords(count: 20, keys: 5), to: "input.jsonl")
        try "not a directory".write(toFile: harness.path("plain"), atomically: true, encoding: .utf8)
        try "streamName = orders\n".write(toFile: harness.path("noapp.properties"), atomically: true, encoding: .utf8)
        try "applicationName = app\n".write(toFile: harness.path("nostream.properties"), atomically: true, encoding: .utf8)
        try "streamName = orders\napplicationName = app\n\\u12\n".write(toFile: harness.path("garbage.properties"), atomically: true, encoding: .utf8)
        try "streamName = orders\napplicationName = app\n".write(toFile: harness.path("good.properties"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: harness.path("emptyjars"), withIntermediateDirectories: true)

        let cases: [(arguments: [String], messages: [String])] = [
            (["--source", "file:nope.jsonl"], ["--source file:nope.jsonl: cannot read nope.jsonl: No such file or directory"]),
            (["--source", "file:input.jsonl", "--reducers", "0"], ["--reducers 0: must be between 1 and 10000"]),
            (["--source", "file:input.jsonl", "--reducers", "-1"], ["--reducers -1: must be between 1 and 10000"]),
            (["--source", "file:input.jsonl", "--shards", "-3"], ["--shards -3: must be between 1 and 100000"]),
            (["--source", "file:input.jsonl", "--state", "plain/state", "--processor", "jsonl:/proc/out", "--dead-letter", "plain"], [
                "--state: cannot create plain/state: plain is not a directory",
                "--processor jsonl:/proc/out: cannot create /proc/out: cannot write in /proc",
                "--dead-letter: plain exists and is not a directory",
            ]),
            (["--source", "file:input.jsonl", "--key", "json:/user/nothing"],
             ["--key json:/user/nothing: no item of the first 20 records of input.jsonl (--source file:input.jsonl) has it"]),
            (["--source", "kcl:noapp.properties", "--kcl-classpath", harness.path("emptyjars") + "/*"], [
                "--source kcl:noapp.properties: noapp.properties has no applicationName",
                "--kcl-classpath \(harness.path("emptyjars"))/* matches no jar",
            ]),
            (["--source", "kcl:nostream.properties", "--kcl-classpath", "/opt"], ["--source kcl:nostream.properties: nostream.properties names no stream: set streamName (or streamArn)"]),
            (["--source", "kcl:garbage.properties", "--kcl-classpath", "/opt"], ["--source kcl:garbage.properties: garbage.properties:3:"]),
            (["--source", "kcl:good.properties", "--kcl-classpath", "/opt", "--java", "no-such-java", "--shards", "8", "--reset", "--records-per-batch", "10"], [
                "--java: no-such-java is not on PATH",
                "--shards applies to file: and generate: sources; kcl: sources take their shards from the stream",
                "--reset applies to file: and generate: sources",
                "--records-per-batch applies to file: and generate: sources",
            ]),
            (["--source", "file:input.jsonl", "--processor", "exec:no-such-program --flag"],
             ["--processor exec:no-such-program --flag: no-such-program is not on PATH"]),
        ]
        for (arguments, messages) in cases {
            let result = try harness.launch(arguments)
            #expect(result.status == 64, "\(arguments): exit \(result.status)")
            for message in messages {
                #expect(result.stderr.contains(message), "\(arguments): expected “\(message)” in \(result.stderr)")
            }
            #expect(!result.stderr.contains("starting "), "\(arguments): nothing started")
        }
        for directory in ["shardflow-state", "shardflow-output", "plain/state"] {
            #expect(!FileManager.default.fileExists(atPath: harness.path(directory)), "\(directory): a refused run writes nothing")
        }
        let help = try harness.run(Harness.binDirectory + "/shardflow", ["run", "--help"])
        #expect(help.stdout.contains("64 when the command line"), "the usage exit status is documented")
    }

    @Test("a run that failed on a typo does not refuse the corrected one; relative and absolute paths are the same source")
    func stateIdentity() throws {
        let harness = try Harness("identity")
        defer { harness.remove() }
        try harness.writeRecords(Harness.sampleRecords(count: 200, keys: 20), to: "orders.jsonl")
        // A typo: refused before anything starts, and no identity is written for it.
        let typo = try harness.launch(["--source", "orders=file:order.jsonl", "--state", "state"])
        #expect(typo.status == 64)
        #expect(!FileManager.default.fileExists(atPath: harness.path("state/orders/source.json")))
        let relative = try harness.launch(["--source", "file:orders.jsonl", "--state", "state", "--processor", "jsonl:out"])
        #expect(relative.status == 0, "\(relative.stderr)")
        let stored = try String(contentsOfFile: harness.path("state/orders/source.json"), encoding: .utf8)
        let canonical = try #require(realpath(harness.path("orders.jsonl"), nil).map { String(cString: $0) })
        #expect(stored.contains("\"file:\(canonical)\""), "the canonical path is stored: \(stored)")
        let absolute = try harness.launch(["--source", "file:" + harness.path("orders.jsonl"), "--state", "state", "--processor", "jsonl:out"])
        #expect(absolute.status == 0, "the same file by its absolute path resumes: \(absolute.stderr)")
        #expect(try harness.outputItems(in: "out").count == 200, "nothing processed twice")
        // --reset over existing output would append a second copy: refused, naming the files.
        let reset = try harness.launch(["--source", "file:orders.jsonl", "--state", "state", "--processor", "jsonl:out", "--reset"])
        #expect(reset.status == 64)
        #expect(reset.stderr.contains("--reset processes the sources again, but --processor jsonl:out already holds output (out/reducer-"))
        #expect(try harness.outputItems(in: "out").count == 200)
        try FileManager.default.moveItem(atPath: harness.path("out"), toPath: harness.path("out.old"))
        let resetClean = try harness.launch(["--source", "file:orders.jsonl", "--state", "state", "--processor", "jsonl:out", "--reset"])
        #expect(resetClean.status == 0, "\(resetClean.stderr)")
        #expect(try harness.outputItems(in: "out").count == 200)
    }

    @Test("Ctrl-C at a terminal reaches only the launcher: the group stops in order, quietly, with real figures; a second Ctrl-C kills at once")
    func interruptAtTerminal() throws {
        let harness = try Harness("ctrlc")
        defer { harness.remove() }
        try """
            import json, sys, time
            for line in sys.stdin:
                batch = json.loads(line)
                time.sleep(0.005)
                print(json.dumps({"batchItemFailures": []}), flush=True)

            """.write(toFile: harness.path("slow.py"), atomically: true, encoding: .utf8)
        for presses in [1, 2] {
            let result = try harness.python("pty_interrupt.py", [
                "--after", "items ", "--presses", String(presses), "--",
                Harness.binDirectory + "/shardflow", "run", "--source", "generate:2000000", "--state", "state\(presses)",
                "--processor", "exec:python3 \(harness.path("slow.py"))", "--reducers", "2", "--mappers", "1",
                "--runtime-dir", harness.runtimeDirectory + "-\(presses)", "--progress-interval", "200ms",
            ])
            let output = result.stdout
            #expect(output.hasSuffix("exit: 130\n"), "\(presses) Ctrl-C: \(output.suffix(1500))")
            // The launcher's own notices aside, nothing: no child's complaint, no error.
            let others = output.split(separator: "\n").filter { !$0.contains("shardflow: [ShardFlowRuntime]") }.joined(separator: "\n")
            for noise in ["Traceback", "KeyboardInterrupt", "closed its stdout", "Cannot schedule tasks", "stdin closed", " error ", " warning ", " critical "] {
                #expect(!others.contains(noise), "\(presses) Ctrl-C: “\(noise)” in \(output.suffix(3000))")
            }
            #expect(!output.contains(" error shardflow"), "\(output.suffix(2000))")
            let processes = try #require(output.split(separator: "\n").first { $0.hasPrefix("  processes") }, "\(output.suffix(2000))")
            #expect(!processes.contains("reducer-0 0.00s/0 MiB") && !processes.contains("mapper-0 0.00s/0 MiB"), "real figures: \(processes)")
            #expect(output.contains(presses == 1 ? "SIGINT: stopping gracefully" : "second SIGINT: killing every process now"))
        }
    }
}

extension EndToEnd {
    @Test("every executable's --help reads as a manual: grouped options for shardflow run, a description, no internal references, exit 0")
    func helpTexts() throws {
        let harness = try Harness("help")
        defer { harness.remove() }
        let run = try harness.run(Harness.binDirectory + "/shardflow", ["run", "--help"])
        #expect(run.status == 0)
        var last = run.stdout.startIndex
        for heading in ["SOURCE:", "PROCESSING:", "GROUP SIZE:", "FLOW CONTROL AND STOPPING:", "OUTPUT AND OBSERVABILITY:", "LOGGING AND SUPERVISION:"] {
            let found = run.stdout.range(of: "\n" + heading + "\n", range: last..<run.stdout.endIndex)
            #expect(found != nil, "shardflow run --help: \(heading) in order")
            if let found { last = found.upperBound }
        }
        for (program, arguments) in [("shardflow", ["--help"]), ("shardflow", ["run", "--help"]), ("shardflow", ["systemd", "install", "--help"]),
                                     ("shardflow", ["systemd", "scale", "--help"]), ("shardflow", ["systemd", "remove", "--help"]),
                                     ("shardflow", ["status", "--help"]), ("shardflow", ["metrics", "--help"]), ("shardflow", ["kcl", "--help"]),
                                     ("shardflow-worker", ["--help"]), ("shardflow-router", ["--help"]), ("shardflow-mapper", ["--help"]),
                                     ("shardflow-reducer", ["--help"])] {
            let help = try harness.run(Harness.binDirectory + "/" + program, arguments)
            let name = "\(program) \(arguments.joined(separator: " "))"
            #expect(help.status == 0 && help.stdout.hasPrefix("OVERVIEW: "), "\(name)")
            for reference in ["DESIGN", "§", "reference/", "STYLE.md"] {
                #expect(!help.stdout.contains(reference), "\(name) mentions \(reference)")
            }
            #expect(!help.stdout.contains("1 reducers") && !help.stdout.contains("1 routers"), "\(name)")
        }
        let worker = try harness.run(Harness.binDirectory + "/shardflow-worker", ["--help"]).stdout
        #expect(worker.contains("Exits when stdin closes"), "the executables explain what they do, not only their options")
    }
}

extension EndToEnd {
    @Test("a named pipe as the file source with a json: key: the checks before starting read nothing from it, every record arrives")
    func pipeSourceIsNotConsumedByTheChecks() throws {
        let harness = try Harness("fifo")
        defer { harness.remove() }
        let fifo = harness.path("records.fifo")
        try #require(mkfifo(fifo, 0o600) == 0)
        let records = Harness.sampleRecords(count: 300, keys: 30)
        try harness.writeRecords(records, to: "records.jsonl")
        // The writer: blocks until the run opens the pipe, then writes every record.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "cat \(harness.path("records.jsonl")) > \(fifo)"]
        try writer.run()
        defer { if writer.isRunning { writer.terminate() } }
        let result = try harness.launch([
            "--source", "orders=file:" + fifo, "--key", "json:/user/id", "--shards", "2", "--reducers", "2",
            "--state", "state", "--processor", "jsonl:out",
        ])
        #expect(result.status == 0, "\(result.stderr.suffix(1000))")
        #expect(try Set(harness.outputItems(in: "out").map(\.data)) == Set(records.map(\.data)), "no record lost to the checks")
    }
}

extension EndToEnd {
    @Test("a source file removed after the checks but before the source opens: restarted with backoff, then the run ends (exit 1), and no identity is written")
    func sourceVanishesAfterTheChecks() throws {
        let harness = try Harness("vanish")
        defer { harness.remove() }
        // The file must disappear between the checks and the source's start (after the group is
        // up): try increasing delays until one lands there.
        var provoked: Harness.Result?
        for delay in stride(from: 0.1, through: 1.5, by: 0.05) where provoked == nil {
            try harness.writeRecords(Harness.sampleRecords(count: 10, keys: 2), to: "input.jsonl")
            try? FileManager.default.removeItem(atPath: harness.path("state"))
            let remover = Process()
            remover.executableURL = URL(fileURLWithPath: "/bin/sh")
            remover.arguments = ["-c", "sleep \(delay); rm -f \(harness.path("input.jsonl"))"]
            try remover.run()
            let result = try harness.launch(["--source", "file:input.jsonl", "--state", "state", "--processor", "discard", "--restart-limit", "2"])
            remover.waitUntilExit()
            if result.stderr.contains("cannot start the source") { provoked = result }
        }
        let result = try #require(provoked, "no delay removed the file between the checks and the source's start")
        #expect(result.status == 1, "\(result.stderr.suffix(1500))")
        #expect(result.stderr.contains("cannot open the source file input.jsonl: No such file or directory; restarting the source from the stored checkpoints in 100ms"))
        #expect(result.stderr.contains("restarting the source from the stored checkpoints in 200ms"), "a doubling backoff")
        #expect(result.stderr.contains("the source failed 3 times within 1m"))
        #expect(!FileManager.default.fileExists(atPath: harness.path("state/input/source.json")), "a source that never opened records no identity")
    }
}
