import ArgumentParser
import Logging

#if canImport(Glibc)
import Glibc
#endif

extension SourceSpecification: ExpressibleByArgument {}

extension StreamSource: ExpressibleByArgument {}

/// The options of `shardflow run`.
public struct RunOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp(
        "[NAME=]file:PATH | [NAME=]generate:COUNT[,size=BYTES][,keys=K] | [NAME=]kcl:PROPERTIES | none. Repeatable: several streams share the group; NAME (default: the file's or stream's name) reaches the processor as each item's stream.",
        valueName: "source"))
    public var source: [StreamSource] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Shards of each local source (file:, generate:; default: \(RunOptions.defaultShards)).", valueName: "n"))
    public var shards: Int?

    @Option(parsing: .unconditional, help: "Routers.")
    public var routers: Int = 1

    @Option(parsing: .unconditional, help: ArgumentHelp("Mappers (default: half the cores, at least 1).", valueName: "n"))
    public var mappers: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Reducers (default: one per core). Items go to reducer partition(key, R).", valueName: "n"))
    public var reducers: Int?

    @Option(help: ArgumentHelp("Socket directory (default: a fresh private one, removed at exit).", valueName: "dir"))
    public var runtimeDir: String?

    @Option(help: ArgumentHelp("Where checkpoints are kept; a rerun resumes from them.", valueName: "dir"))
    public var state: String = "shardflow-state"

    @Flag(help: "Forget the stored checkpoints and process the source from the start.")
    public var reset = false

    @Option(help: ArgumentHelp("discard | spin:MICROSECONDS | jsonl:DIR | exec:CMD", valueName: "processor"))
    public var processor: ProcessorSpecification = .jsonLines(directory: "shardflow-output")

    @Option(help: ArgumentHelp(
        "record: one item per record. kpl: de-aggregate KPL records. lines: one item per line. dynamodb: one item per DynamoDB Streams change, keyed by its Keys.",
        valueName: "record|kpl|lines|dynamodb"))
    public var extract: Extractor.Mode = .record

    @Option(help: ArgumentHelp(
        "partitionKey, or json:/pointer into the item's JSON data (objects and arrays are keyed in canonical form).",
        valueName: "key"))
    public var key: Extractor.KeySelector = .partitionKey

    @Option(help: ArgumentHelp(
        "Process only items matching this Lambda-style event pattern, e.g. '{\"eventName\": [\"INSERT\"]}' (repeatable: any may match). Other items are completed unprocessed and counted.",
        valueName: "pattern"), transform: EventPattern.argument)
    public var filter: [EventPattern] = []

    @Option(help: ArgumentHelp(
        "key: the items of each key reach the processor in the order of their records in the shard. none: no ordering (each shard's records may spread over all mappers).",
        valueName: "key|none"))
    public var ordering: RouterStateMachine.Ordering = .perKey

    @Flag(help: .hidden)
    public var keyOrdered = false

    @Option(parsing: .unconditional, help: "Reducer batch size.")
    public var batchSize: Int = ProcessingDefaults.batchSize

    @Option(help: "Reducer batch timeout.")
    public var batchTimeout = DurationArgument(ProcessingDefaults.batchTimeout)

    @Option(parsing: .unconditional, help: ArgumentHelp("Retries of a failed item before dead-lettering (default unlimited).", valueName: "n"))
    public var retries: Int?

    @Option(help: "First delay before retrying a failed item (doubles per attempt, up to --max-retry-delay).")
    public var retryDelay = DurationArgument(ProcessingDefaults.retryDelay)

    @Option(help: "Longest delay between retries of a failed item (a full disk is retried at least this often).")
    public var maxRetryDelay = DurationArgument(ProcessingDefaults.maxRetryDelay)

    @Option(help: ArgumentHelp("Dead-letter directory for items that fail for good.", valueName: "dir"))
    public var deadLetter: String?

    @Option(help: ArgumentHelp(
        "Dead-letter (reason \"expired\") instead of processing an item whose record arrived in the stream longer ago than this; needs --dead-letter.",
        valueName: "duration"))
    public var maxRecordAge: DurationArgument?

    @Option(help: "How long an exec: processor may take over one batch before it is killed and restarted (the batch is retried).")
    public var processorTimeout = DurationArgument(ProcessingDefaults.processorTimeout)

    @Option(help: "After Ctrl-C or SIGTERM, how long the stop may take: workers hand their shards back within half of it (checkpointing what is complete), then processes still running are killed.")
    public var drainTimeout = DurationArgument(ProcessingDefaults.drainTimeout)

    @Option(help: "Minimum time between a shard's checkpoints.")
    public var checkpointInterval = DurationArgument(ProcessingDefaults.checkpointInterval)

    @Option(parsing: .unconditional, help: "Incomplete records per shard before the worker holds back (backpressure).")
    public var maxPending: Int = ProcessingDefaults.maxPending

    @Option(parsing: .unconditional, help: ArgumentHelp("Records per processRecords message of the local source (default: \(RunOptions.defaultRecordsPerBatch)).", valueName: "n"))
    public var recordsPerBatch: Int?

    @Option(help: "Interval of progress lines.")
    public var progressInterval = DurationArgument(.seconds(1))

    @Flag(help: "No progress lines (the summary is still printed).")
    public var noProgress = false

    @Option(help: ArgumentHelp("Write the run's figures as JSON to this file.", valueName: "path"))
    public var statsJson: String?

    @Option(help: ArgumentHelp(
        "Serve the Prometheus metrics of every process of the group at http://HOST:PORT/metrics (port 0: any free port, logged).",
        valueName: "host:port"))
    public var metricsListen: String?

    @Option(help: "Name a record in the progress line and the log once it has been incomplete this long.")
    public var stuckAfter = DurationArgument(ProcessingDefaults.stuckAfter)

    @Option(help: "Log level of the launcher.")
    public var logLevel: Logger.Level = .info

    @Option(help: "Log level of the group's processes.")
    public var childLogLevel: Logger.Level = .warning

    @Option(parsing: .unconditional, help: "A process exiting more often than this within a minute ends the run.")
    public var restartLimit: Int = 5

    @Option(help: ArgumentHelp("Largest frame, in bytes.", valueName: "bytes"))
    public var maxFrameBytes: UInt32?

    @Option(help: ArgumentHelp("The KCL multilang classpath (for --source kcl:).", valueName: "classpath"))
    public var kclClasspath: String?

    @Option(help: ArgumentHelp("The java executable (for --source kcl:).", valueName: "path"))
    public var java: String = "java"

    @Option(help: ArgumentHelp(
        "The daemon's main class (for --source kcl:; default: the Kinesis MultiLangDaemon, or the DynamoDB Streams adapter's with --extract dynamodb).",
        valueName: "class"))
    public var kclMainClass: String?

    @Option(help: ArgumentHelp("Directory of the ShardFlow executables (default: this one's).", valueName: "dir"))
    public var binDir: String?

    @Option(help: ArgumentHelp("Drive this MultiLangDaemon child instead of shardflow-worker (split on spaces, like executableName).", valueName: "command"))
    public var workerCommand: String?

    @Option(help: .hidden)
    public var injectCheckpointErrors: [String] = []

    public init() {}

    public mutating func validate() throws {
        if let shards, shards <= 0 || shards > 100_000 { throw ValidationError("--shards \(shards): must be between 1 and 100000") }
        guard routers > 0, routers <= 1000 else { throw ValidationError("--routers \(routers): must be between 1 and 1000") }
        if let mappers, mappers <= 0 || mappers > 1000 { throw ValidationError("--mappers \(mappers): must be between 1 and 1000") }
        if let reducers, reducers <= 0 || reducers > 10_000 { throw ValidationError("--reducers \(reducers): must be between 1 and 10000") }
        if let recordsPerBatch, recordsPerBatch <= 0 { throw ValidationError("--records-per-batch \(recordsPerBatch): must be positive") }
        guard maxPending > 0 else { throw ValidationError("--max-pending \(maxPending): must be positive") }
        guard batchSize > 0, batchSize <= 1_000_000 else { throw ValidationError("--batch-size \(batchSize): must be between 1 and 1000000") }
        if let retries, retries < 0 { throw ValidationError("--retries \(retries): must be 0 or more") }
        guard restartLimit > 0 else { throw ValidationError("--restart-limit \(restartLimit): must be positive") }
        guard drainTimeout.amount >= .seconds(1) else { throw ValidationError("--drain-timeout must be at least 1s") }
        guard processorTimeout.amount > .zero else { throw ValidationError("--processor-timeout must be positive") }
        if let metricsListen, MetricsEndpoint.Address(argument: metricsListen) == nil {
            throw ValidationError("--metrics-listen \(metricsListen): expected HOST:PORT, such as 127.0.0.1:9464")
        }
        if let maxRecordAge {
            guard maxRecordAge.amount > .zero else { throw ValidationError("--max-record-age must be positive") }
            guard deadLetter != nil else {
                throw ValidationError("--max-record-age needs --dead-letter DIR: expired items are dead-lettered, never dropped")
            }
        }
        guard !source.isEmpty else { throw ValidationError("--source is required (file:PATH, generate:COUNT, kcl:PROPERTIES or none)") }
        if source.count > 1, source.contains(where: { $0.specification == .none }) {
            throw ValidationError("--source none runs only the group: it cannot be combined with other sources")
        }
        if source.contains(where: { if case .kcl = $0.specification { true } else { false } }), kclClasspath == nil {
            throw ValidationError("--source kcl: needs --kcl-classpath with the KCL multilang jars (see README, \"Running under the Java KCL\")")
        }
        if source.first?.specification != SourceSpecification.none {
            // A source whose name cannot be read (its properties) keeps none: the checks below
            // report why, with every other problem.
            source = source.map { (try? $0.resolvingName()) ?? $0 }
            var seen: [String: StreamSource] = [:]
            for stream in source where stream.name != nil {
                if let other = seen[stream.stream] {
                    throw ValidationError("--source \(other) and --source \(stream) are both stream \"\(stream.stream)\"; name one of them: --source OTHERNAME=\(stream.specification)")
                }
                seen[stream.stream] = stream
            }
        }
        let problems = RunPreflight.problems(of: self)
        if !problems.isEmpty {
            throw ValidationError(problems.joined(separator: "\n"))
        }
    }

    /// The launch configuration these options describe.
    public func configuration() -> LaunchConfiguration {
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var configuration = LaunchConfiguration(
            binDirectory: binDir ?? RunOptions.ownDirectory, stateDirectory: state,
            sources: source.first?.specification == SourceSpecification.none ? [] : source)
        configuration.runtimeDirectory = runtimeDir
        configuration.shards = shards ?? RunOptions.defaultShards
        configuration.routers = routers
        configuration.mappers = mappers ?? max(1, cores / 2)
        configuration.reducers = reducers ?? cores
        configuration.reset = reset
        configuration.processor = processor
        configuration.extract = extract
        configuration.key = key
        configuration.filters = filter
        configuration.ordering = ordering
        configuration.reducerArguments = ["--batch-size", String(batchSize), "--batch-timeout", batchTimeout.description,
                                          "--stuck-after", stuckAfter.description,
                                          "--processor-timeout", processorTimeout.description, "--retry-delay", retryDelay.description,
                                          "--max-retry-delay", maxRetryDelay.description]
            + (retries.map { ["--retries", String($0)] } ?? [])
            + (deadLetter.map { ["--dead-letter", $0] } ?? [])
            + (maxRecordAge.map { ["--max-record-age", $0.description] } ?? [])
        configuration.workerArguments = [
            "--checkpoint-interval", checkpointInterval.description, "--max-pending", String(maxPending),
            "--stuck-after", stuckAfter.description,
            "--shutdown-timeout", DurationArgument(.nanoseconds(drainTimeout.amount.nanoseconds / 2)).description,
        ]
        configuration.drainTimeout = drainTimeout.amount
        configuration.groupArguments = ["--drain-timeout", drainTimeout.description]
        configuration.commonArguments = maxFrameBytes.map { ["--max-frame-bytes", String($0)] } ?? []
        configuration.childLogLevel = childLogLevel.rawValue
        configuration.batchRecords = recordsPerBatch ?? RunOptions.defaultRecordsPerBatch
        configuration.progressInterval = noProgress ? nil : progressInterval.amount
        configuration.statsPath = statsJson
        configuration.metricsAddress = metricsListen.flatMap(MetricsEndpoint.Address.init(argument:))
        configuration.stuckAfter = stuckAfter.amount
        configuration.restart.limit = restartLimit
        configuration.kcl.classpath = kclClasspath
        configuration.kcl.java = java
        configuration.kcl.mainClass = kclMainClass ?? KCLConfiguration.mainClass(for: extract)
        configuration.injectedCheckpointErrors = injectCheckpointErrors.map(CheckpointError.init(name:))
        configuration.workerCommandOverride = workerCommand.map { $0.split(separator: " ").map(String.init) }
        return configuration
    }

    public static let defaultShards = 4
    public static let defaultRecordsPerBatch = 5000

    /// The directory of the running executable.
    static var ownDirectory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "." }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }
}
