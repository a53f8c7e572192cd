import Foundation
import Testing

@testable import ShardFlowRuntime

@Suite("Checkpoint store")
struct CheckpointStoreTests {
    @Test("checkpoints survive a reload, sentinels included")
    func roundTrip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var store = try CheckpointStore(directory: directory.path)
        #expect(store.checkpoints.isEmpty)
        let position = try #require(SequencePosition("49587497311274533994574834252742144236107130636007899138", 3))
        try store.update("shardId-000000000001", to: .position(position))
        try store.update("shardId-000000000000", to: .shardEnd)
        let reloaded = try CheckpointStore(directory: directory.path)
        #expect(reloaded.checkpoints == ["shardId-000000000001": .position(position), "shardId-000000000000": .shardEnd])
        let text = try directory.read("checkpoints.json")
        #expect(text == """
            {
              "shardId-000000000000":{"sequenceNumber":"SHARD_END","subSequenceNumber":null},
              "shardId-000000000001":{"sequenceNumber":"49587497311274533994574834252742144236107130636007899138","subSequenceNumber":3}
            }

            """)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/checkpoints.json.tmp-\(getpid())"), "no temporary file left")
    }

    @Test("a corrupt file is an error naming the file and what to do")
    func corrupt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try directory.write(#"{"shardId-0": {"sequenceNumber": "#, to: "checkpoints.json")
        do {
            _ = try CheckpointStore(directory: directory.path)
            Issue.record("a corrupt file was accepted")
        } catch {
            #expect("\(error)".contains("checkpoints.json is not valid checkpoint JSON"))
            #expect("\(error)".contains("--reset"))
        }
        _ = try directory.write(#"{"shardId-0": {"sequenceNumber": "12x"}}"#, to: "checkpoints.json")
        #expect(throws: ConfigurationError.self) { try CheckpointStore(directory: directory.path) }
    }
}

@Suite("Launch options")
struct LaunchOptionsTests {
    @Test("sources parse as documented")
    func sources() {
        #expect(SourceSpecification(argument: "file:a/b.jsonl") == .file(path: "a/b.jsonl"))
        #expect(SourceSpecification(argument: "generate:1000") == .generate(count: 1000, size: 100, keys: 1000))
        #expect(SourceSpecification(argument: "generate:5,size=1000,keys=3") == .generate(count: 5, size: 1000, keys: 3))
        #expect(SourceSpecification(argument: "generate:5,rate=200") == .generate(count: 5, size: 100, keys: 1000, rate: 200))
        #expect(SourceSpecification(argument: "generate:5,rate=200")?.description == "generate:5,size=100,keys=1000,rate=200")
        #expect(SourceSpecification(argument: "kcl:app.properties") == .kcl(properties: "app.properties"))
        #expect(SourceSpecification(argument: "none") == SourceSpecification.none)
        for bad in ["file:", "generate:x", "generate:5,size=0", "generate:5,color=red", "generate:5,rate=0", "stdin"] {
            #expect(SourceSpecification(argument: bad) == nil, "\(bad)")
        }
    }

    @Test("processors parse as documented")
    func processors() {
        #expect(ProcessorSpecification(argument: "discard") == .discard)
        #expect(ProcessorSpecification(argument: "spin:20") == .spin(microseconds: 20))
        #expect(ProcessorSpecification(argument: "jsonl:out") == .jsonLines(directory: "out"))
        #expect(ProcessorSpecification(argument: "exec:python3 x.py --flag") == .exec(command: "python3 x.py --flag"))
        for bad in ["spin:x", "jsonl:", "exec:", "kafka"] { #expect(ProcessorSpecification(argument: bad) == nil, "\(bad)") }
    }

    @Test("durations accept ms, s, m and bare seconds")
    func durations() {
        #expect(DurationArgument(argument: "250ms")?.amount == .milliseconds(250))
        #expect(DurationArgument(argument: "5s")?.amount == .seconds(5))
        #expect(DurationArgument(argument: "2m")?.amount == .minutes(2))
        #expect(DurationArgument(argument: "1.5")?.amount == .milliseconds(1500))
        #expect(DurationArgument(argument: "soon") == nil)
        #expect(DurationArgument(argument: "-1s") == nil)
        #expect(DurationArgument(.milliseconds(1500)).description == "1500ms")
    }

    @Test("sd_notify messages and STATUS lines parse into fields")
    func notifyFields() {
        #expect(NotifyHub.parse("READY=1\nSTATUS=items=5 items/s=2") == ["READY": "1", "STATUS": "items=5 items/s=2"])
        #expect(NotifyHub.statusFields("shard=shardId-1 records=10 incomplete=2") == ["shard": "shardId-1", "records": "10", "incomplete": "2"])
    }
}

@Suite("KCL properties")
struct KCLPropertiesTests {
    @Test("ShardFlow's keys replace the user's; a zero grace period is replaced; the rest is kept")
    func writes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let user = try directory.write("""
            # my stream
            streamName = orders
            applicationName = orders-app
            executableName = python3 old.py
            shutdownGraceMillis = 0
            callProcessRecordsEvenForEmptyRecordList=false
            """, to: "app.properties")
        let written = try KCLProperties.write(userProperties: user, workerCommand: ["/bin/shardflow-worker", "--routers", "2"], directory: directory.path)
        let text = try String(contentsOfFile: written, encoding: .utf8)
        #expect(text.contains("streamName = orders"))
        #expect(text.contains("# replaced by ShardFlow: executableName = python3 old.py"))
        #expect(text.contains("\nexecutableName = /bin/shardflow-worker --routers 2\n"))
        #expect(text.contains("\ncallProcessRecordsEvenForEmptyRecordList = true\n"))
        #expect(text.contains("\nshutdownGraceMillis = 30000\n"))
        #expect(!text.contains("\nshutdownGraceMillis = 0"))

        let kept = try directory.write("streamName = s\napplicationName: a\nshutdownGraceMillis = 12000\n", to: "kept.properties")
        let keptText = try String(contentsOfFile: try KCLProperties.write(userProperties: kept, workerCommand: ["w"], directory: directory.path), encoding: .utf8)
        #expect(keptText.contains("shutdownGraceMillis = 12000") && !keptText.contains("30000"))

        #expect(throws: ConfigurationError.self) {
            try KCLProperties.write(userProperties: kept, workerCommand: ["/opt/my apps/worker"], directory: directory.path)
        }
        #expect(throws: ConfigurationError.self) {
            try KCLProperties.write(userProperties: directory.path + "/missing", workerCommand: ["w"], directory: directory.path)
        }
    }

    @Test("a file without a stream, an application name, or with a line that is not a property, is refused with the line")
    func refusesBadFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cases: [(String, String)] = [
            ("applicationName = a\n", "names no stream: set streamName (or streamArn)"),
            ("streamArn = arn:aws:kinesis:eu-west-1:1:stream/s\n", "has no applicationName"),
            ("streamName = s\napplicationName = a\nthis is not { a property\n", ":3: \"this is not { a property\" is not a property"),
        ]
        for (text, message) in cases {
            let path = try directory.write(text.replacingOccurrences(of: "\\n", with: "\n"), to: "p.properties")
            do {
                _ = try KCLProperties.read(path)
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }
}

@Suite("Java properties")
struct JavaPropertiesTests {
    @Test("separators, comments, continuations and escapes as Java reads them")
    func parses() throws {
        let text = "# comment\n! also\n\nstreamName = orders\nregionName:eu-west-1\ninitialPositionInStream=LATEST\n"
            + "executableName = python3 \\\n    app.py\nkey.name = a\\tb\\u00e9\nempty =\n"
        let entries = try JavaProperties.parse(Array(text.utf8))
        #expect(entries.map(\.key) == ["streamName", "regionName", "initialPositionInStream", "executableName", "key.name", "empty"])
        #expect(entries.map(\.value) == ["orders", "eu-west-1", "LATEST", "python3 app.py", "a\tbé", ""])
        #expect(entries[3].lines == 7...8)
        #expect(throws: JavaProperties.Failure.self) { try JavaProperties.parse(Array("k = \\u12".utf8)) }
    }
}
