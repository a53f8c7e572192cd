import ArgumentParser
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `shardflow systemd`: writes (or prints) the systemd units and configuration for a topology,
/// and the commands that enable it.
public struct SystemdCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "systemd",
        abstract: "Write or print the systemd units and configuration for a group, and the commands to enable it.",
        discussion: """
            --reducers N means the same topology as under `shardflow run`: reducer instances \
            shardflow-reducer@0…N-1, and mappers partitioning items over N reducers. Without \
            --prefix everything is printed; with it, files go to PREFIX/etc/systemd/system, \
            PREFIX/etc/shardflow and PREFIX/usr/lib/sysusers.d. See docs/operations.md.
            """
    )

    @Option(help: "Reducers (template instances shardflow-reducer@0…N-1).")
    var reducers: Int = 2

    @Option(help: "Mappers (template instances shardflow-mapper@0…M-1).")
    var mappers: Int = 1

    @Option(help: ArgumentHelp("key: each key's items in their shard's order (the default). none: no ordering.", valueName: "key|none"))
    var ordering: RouterStateMachine.Ordering = .perKey

    @Flag(help: .hidden)
    var keyOrdered = false

    @Option(help: ArgumentHelp(
        "A stream (repeatable): its daemon runs as shardflow-kcl@NAME.service with /etc/shardflow/kcl-NAME.properties, and its items carry NAME (default: one stream, main).",
        valueName: "name"))
    var stream: [String] = []

    @Option(help: ArgumentHelp("How records become items: record, kpl, lines or dynamodb (which also selects the DynamoDB Streams adapter's daemon).", valueName: "mode"))
    var extract: Extractor.Mode = .record

    @Option(help: ArgumentHelp("Partitioning key: partitionKey, or json:/pointer into the item's data.", valueName: "key"))
    var key: Extractor.KeySelector = .partitionKey

    @Option(help: ArgumentHelp("Process only items matching this event pattern (repeatable); written to /etc/shardflow/filters.jsonl.", valueName: "pattern"),
            transform: EventPattern.argument)
    var filter: [EventPattern] = []

    @Option(help: ArgumentHelp("The daemon's main class (default: the Kinesis MultiLangDaemon, or the DynamoDB Streams adapter's with --extract dynamodb).", valueName: "class"))
    var kclMainClass: String?

    @Option(help: ArgumentHelp("Where shardflow-metrics.socket listens for Prometheus scrapes.", valueName: "host:port"))
    var metricsListen: String = SystemdDeployment().metricsListen

    @Option(help: ArgumentHelp("Write the files under this root instead of printing them.", valueName: "dir"))
    var prefix: String?

    @Option(help: .hidden)
    var flat: String?

    @Option(help: ArgumentHelp("Where the ShardFlow executables are installed.", valueName: "dir"))
    var binDir: String = SystemdDeployment().binDirectory

    @Option(help: "The system user the units run as.")
    var user: String = SystemdDeployment().user

    @Option(help: ArgumentHelp("The reducers' processor.", valueName: "processor"))
    var processor: ProcessorSpecification = ProcessorSpecification(argument: SystemdDeployment().processor)!


    @Option(help: ArgumentHelp("The KCL multilang classpath.", valueName: "classpath"))
    var kclClasspath: String = SystemdDeployment().kclClasspath

    @Option(help: ArgumentHelp("The java executable.", valueName: "path"))
    var java: String = SystemdDeployment().java

    public init() {}

    public func validate() throws {
        guard reducers > 0, reducers <= 10_000 else { throw ValidationError("--reducers must be between 1 and 10000") }
        guard mappers > 0, mappers <= 1000 else { throw ValidationError("--mappers must be between 1 and 1000") }
        if binDir.contains(" ") { throw ValidationError("--bin-dir must not contain spaces (systemd and the KCL split command lines on them)") }
        for name in stream where !StreamSource.isValidName(name) {
            throw ValidationError("--stream \(name): a stream name is 1 to 128 letters, digits, '.', '_' or '-'")
        }
        if Set(stream).count != stream.count { throw ValidationError("--stream names a stream twice") }
        guard MetricsEndpoint.Address(argument: metricsListen) != nil else {
            throw ValidationError("--metrics-listen \(metricsListen): expected HOST:PORT, such as 127.0.0.1:9464")
        }
    }

    var deployment: SystemdDeployment {
        var deployment = SystemdDeployment()
        deployment.reducers = reducers
        deployment.mappers = mappers
        deployment.ordering = ordering
        if !stream.isEmpty { deployment.streams = stream }
        deployment.extract = extract
        deployment.key = key
        deployment.filters = filter
        deployment.kclMainClass = kclMainClass
        deployment.metricsListen = metricsListen
        deployment.binDirectory = binDir
        deployment.user = user
        deployment.processor = processor.description
        deployment.kclClasspath = kclClasspath
        deployment.java = java
        return deployment
    }

    public func run() throws {
        let deployment = self.deployment
        if let flat {
            // deploy/ in the repository: the units and configuration side by side.
            try RuntimeDirectory.makeDirectories(flat, mode: 0o755)
            for unit in deployment.units { try Self.write(unit.contents, to: "\(flat)/\(unit.path)") }
            try Self.write(deployment.configuration, to: "\(flat)/shardflow.conf")
            try Self.write(deployment.sysusers, to: "\(flat)/shardflow.sysusers")
            if !deployment.filters.isEmpty { try Self.write(deployment.filtersFile, to: "\(flat)/filters.jsonl") }
            return
        }
        if let prefix {
            for file in deployment.files {
                let path = "\(prefix)/\(file.path)"
                try RuntimeDirectory.makeDirectories(String(path[..<path.lastIndex(of: "/")!]), mode: 0o755)
                try Self.write(file.contents, to: path)
                print("wrote \(path)")
            }
        } else {
            for file in deployment.files {
                print("# ---- /\(file.path)")
                print(file.contents)
            }
        }
        if keyOrdered {
            print("# --key-ordered is no longer needed: every key keeps its order by default (--ordering key)")
        }
        print("# ---- to enable this topology (\(reducers) reducers, \(mappers) mappers, streams \(deployment.streams.joined(separator: ", "))):")
        for command in deployment.commands { print(command) }
    }

    static func write(_ text: String, to path: String) throws {
        try CheckpointStore.writeAtomically(
            ByteBuffer(string: text), to: path, directory: String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]), mode: 0o644)
    }
}
