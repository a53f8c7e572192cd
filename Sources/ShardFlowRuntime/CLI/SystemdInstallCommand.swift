import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `shardflow systemd install`: the units, configuration, sysusers and tmpfiles entries for a
/// topology, printed (to review) or written under `--prefix`, and the commands that enable it.
public struct SystemdInstallCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Write or print the systemd units and configuration for a group, and the commands to enable it.",
        discussion: """
            --reducers N means the same topology as under `shardflow run`: reducer instances \
            shardflow-reducer@0…N-1, and mappers partitioning items over N reducers. Without \
            --prefix everything is printed; with it, files go to PREFIX/etc/systemd/system, \
            PREFIX/etc/shardflow, PREFIX/usr/lib/sysusers.d and PREFIX/usr/lib/tmpfiles.d. An \
            existing PREFIX/etc/shardflow/shardflow.conf is kept (your edits live there): what \
            these options would write goes to shardflow.conf.new beside it. Units are always \
            written again; put local changes in drop-ins (systemctl edit UNIT).
            """
    )

    @Option(parsing: .unconditional, help: "Reducers (template instances shardflow-reducer@0…N-1).")
    var reducers: Int = 2

    @Option(parsing: .unconditional, help: "Mappers (template instances shardflow-mapper@0…M-1).")
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

    @Option(help: ArgumentHelp("The reducers' processor.", valueName: "processor"))
    var processor: ProcessorSpecification = ProcessorSpecification(argument: SystemdDeployment().processor)!

    @Option(help: ArgumentHelp("How an exec: child gets batches: native or lambda (see shardflow run --help).", valueName: "native|lambda"))
    var execFormat: ExecFormat = .native

    @OptionGroup var batching: BatchProcessingOptions

    @Option(help: ArgumentHelp("Dead-letter directory (empty: items that fail for good are acknowledged failed).", valueName: "dir"))
    var deadLetter: String = "/var/lib/shardflow/dead-letter"

    @Option(help: ArgumentHelp("Minimum time between a shard's checkpoints.", valueName: "duration"))
    var checkpointInterval = DurationArgument(ProcessingDefaults.checkpointInterval)

    @Option(parsing: .unconditional, help: "Incomplete records per shard before the worker holds the daemon back (also at \(ProcessingDefaults.heldPerPending) times as many held behind one still incomplete).")
    var maxPending: Int = ProcessingDefaults.maxPending

    @Option(help: ArgumentHelp("Name a record in the logs once it has been incomplete this long.", valueName: "duration"))
    var stuckAfter = DurationArgument(ProcessingDefaults.stuckAfter)

    @Option(help: ArgumentHelp("The daemon's main class (default: the Kinesis MultiLangDaemon, or the DynamoDB Streams adapter's with --extract dynamodb).", valueName: "class"))
    var kclMainClass: String?

    @Option(help: ArgumentHelp("The KCL multilang classpath.", valueName: "classpath"))
    var kclClasspath: String = SystemdDeployment().kclClasspath

    @Option(help: ArgumentHelp("The java executable.", valueName: "path"))
    var java: String = SystemdDeployment().java

    @Option(help: ArgumentHelp("Where shardflow-metrics.socket listens for Prometheus scrapes.", valueName: "host:port"))
    var metricsListen: String = SystemdDeployment().metricsListen

    @Option(help: ArgumentHelp("Where the ShardFlow executables are installed.", valueName: "dir"))
    var binDir: String = SystemdDeployment().binDirectory

    @Option(help: "The system user the units run as.")
    var user: String = SystemdDeployment().user

    @Option(help: ArgumentHelp("Write the files under this root instead of printing them.", valueName: "dir"))
    var prefix: String?

    @Option(help: .hidden)
    var flat: String?

    public init() {}

    public func validate() throws {
        guard reducers > 0, reducers <= 10_000 else { throw ValidationError("--reducers \(reducers): must be between 1 and 10000") }
        guard mappers > 0, mappers <= 1000 else { throw ValidationError("--mappers \(mappers): must be between 1 and 1000") }
        if execFormat != .native, !processor.isExec {
            throw ValidationError("--exec-format \(execFormat.rawValue) applies to exec: processors, not to --processor \(processor)")
        }
        guard maxPending > 0 else { throw ValidationError("--max-pending \(maxPending): must be positive") }
        for (name, value) in [("--bin-dir", binDir), ("--dead-letter", deadLetter)] where value.contains(" ") {
            throw ValidationError("\(name) must not contain spaces (systemd splits the option lines on them)")
        }
        for name in stream where !StreamSource.isValidName(name) {
            throw ValidationError("--stream \(name): a stream name is 1 to 128 letters, digits, '.', '_' or '-'")
        }
        if Set(stream).count != stream.count { throw ValidationError("--stream names a stream twice") }
        guard MetricsEndpoint.Address(argument: metricsListen) != nil else {
            throw ValidationError("--metrics-listen \(metricsListen): expected HOST:PORT, such as 127.0.0.1:9464")
        }
        try batching.validate(deadLetter: deadLetter)
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
        var reducer = batching.reducerArguments + ["--stuck-after", stuckAfter.description]
        if execFormat != .native { reducer += ["--exec-format", execFormat.rawValue] }
        if !deadLetter.isEmpty { reducer += ["--dead-letter", deadLetter] }
        deployment.reducerOptions = reducer.joined(separator: " ")
        deployment.workerOptions = ["--checkpoint-interval", checkpointInterval.description, "--max-pending", String(maxPending),
                                    "--stuck-after", stuckAfter.description].joined(separator: " ")
        return deployment
    }

    public func run() throws {
        let deployment = self.deployment
        if keyOrdered {
            print("# --key-ordered is no longer needed: every key keeps its order by default (--ordering key)")
        }
        if let flat {
            // deploy/ in the repository: the units and configuration side by side.
            try RuntimeDirectory.makeDirectories(flat, mode: 0o755)
            for unit in deployment.units { try SystemdCommand.write(unit.contents, to: "\(flat)/\(unit.path)") }
            try SystemdCommand.write(deployment.configuration, to: "\(flat)/shardflow.conf")
            try SystemdCommand.write(deployment.sysusers, to: "\(flat)/shardflow.sysusers")
            try SystemdCommand.write(deployment.tmpfiles, to: "\(flat)/shardflow.tmpfiles")
            if !deployment.filters.isEmpty { try SystemdCommand.write(deployment.filtersFile, to: "\(flat)/filters.jsonl") }
            return
        }
        if let prefix {
            for file in deployment.files {
                var path = SystemdCommand.join(prefix, file.path)
                if file.path == String(deployment.configurationPath.dropFirst()), try CheckpointStore.readFile(path) != nil {
                    path += ".new"
                    print("kept \(SystemdCommand.join(prefix, file.path)) (your configuration); what these options make is in \(path)")
                }
                try RuntimeDirectory.makeDirectories(String(path[..<path.lastIndex(of: "/")!]), mode: 0o755)
                // The configuration holds no secret but is the operator's; the filters are read
                // by the mappers (user shardflow).
                try SystemdCommand.write(file.contents, to: path, mode: file.path.hasSuffix("shardflow.conf") ? 0o640 : 0o644)
                print("wrote \(path)")
            }
        } else {
            for file in deployment.files {
                print("# ---- /\(file.path)")
                print(file.contents)
            }
        }
        print("# ---- to enable this topology (\(reducers.counted("reducer")), \(mappers.counted("mapper")), \(deployment.streams.count.counted("stream")): \(deployment.streams.joined(separator: ", "))):")
        for command in deployment.commands { print(command) }
    }
}
