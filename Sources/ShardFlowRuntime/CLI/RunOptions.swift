import ArgumentParser
import Logging
import ShardFlowCore

#if canImport(Glibc)
import Glibc
#endif

/// The options of `shardflow run`, in the groups its help shows.
public struct RunOptions: ParsableArguments, Sendable {
    @OptionGroup(title: "Source")
    public var input: RunSourceOptions

    @OptionGroup(title: "Processing")
    public var processing: RunProcessingOptions

    @OptionGroup(title: "Group size")
    public var group: RunGroupOptions

    @OptionGroup(title: "Flow control and stopping")
    public var flow: RunFlowOptions

    @OptionGroup(title: "Output and observability")
    public var output: RunOutputOptions

    @OptionGroup(title: "Logging and supervision")
    public var logging: RunLoggingOptions

    public init() {}

    public mutating func validate() throws {
        if let shards = input.shards, shards <= 0 || shards > 100_000 { throw ValidationError("--shards \(shards): must be between 1 and 100000") }
        guard group.routers > 0, group.routers <= 1000 else { throw ValidationError("--routers \(group.routers): must be between 1 and 1000") }
        if let mappers = group.mappers, mappers <= 0 || mappers > 1000 { throw ValidationError("--mappers \(mappers): must be between 1 and 1000") }
        if let reducers = group.reducers, reducers <= 0 || reducers > 10_000 { throw ValidationError("--reducers \(reducers): must be between 1 and 10000") }
        if let records = input.recordsPerBatch, records <= 0 { throw ValidationError("--records-per-batch \(records): must be positive") }
        guard flow.maxPending > 0 else { throw ValidationError("--max-pending \(flow.maxPending): must be positive") }
        guard logging.restartLimit > 0 else { throw ValidationError("--restart-limit \(logging.restartLimit): must be positive") }
        guard flow.drainTimeout.amount >= .seconds(1) else { throw ValidationError("--drain-timeout \(flow.drainTimeout): must be at least 1s") }
        guard flow.maxFrameBytes >= 64 * 1024 else { throw ValidationError("--max-frame-bytes \(flow.maxFrameBytes): must be at least 65536") }
        if let listen = output.metricsListen, MetricsEndpoint.Address(argument: listen) == nil {
            throw ValidationError("--metrics-listen \(listen): expected HOST:PORT, such as 127.0.0.1:9464")
        }
        try processing.batching.validate(deadLetter: processing.deadLetter)
        if processing.execFormat != .native, !processing.processor.isExec {
            throw ValidationError("--exec-format \(processing.execFormat.rawValue) applies to exec: processors, not to --processor \(processing.processor)")
        }
        let sources = input.source
        guard !sources.isEmpty else { throw ValidationError("--source is required (file:PATH, generate:COUNT, kcl:PROPERTIES or none)") }
        if sources.count > 1, sources.contains(where: { $0.specification == .none }) {
            throw ValidationError("--source none runs only the group: it cannot be combined with other sources")
        }
        if sources.contains(where: { if case .kcl = $0.specification { true } else { false } }), input.kclClasspath == nil {
            throw ValidationError("--source kcl: needs --kcl-classpath with the KCL multilang jars (see docs/operations.md, \"Running under the Java KCL\")")
        }
        if sources.first?.specification != SourceSpecification.none {
            // A source whose name cannot be read (its properties) keeps none: the checks below
            // report why, with every other problem.
            input.source = sources.map { (try? $0.resolvingName()) ?? $0 }
            var seen: [String: StreamSource] = [:]
            for stream in input.source where stream.name != nil {
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
            binDirectory: group.binDir ?? RunOptions.ownDirectory, stateDirectory: input.state,
            sources: input.source.first?.specification == SourceSpecification.none ? [] : input.source)
        // Without --bin-dir this executable runs every process of the group: one copy of the
        // code in memory for the whole group. Through /proc/self/exe, so a process restarted
        // after the file was replaced (an upgrade in place) or removed still runs this version.
        configuration.groupExecutable = group.binDir == nil && RunOptions.ownExecutable != nil ? "/proc/self/exe" : nil
        configuration.runtimeDirectory = group.runtimeDir
        configuration.shards = input.shards ?? RunSourceOptions.defaultShards
        configuration.routers = group.routers
        configuration.mappers = group.mappers ?? max(1, cores / 2)
        configuration.reducers = group.reducers ?? cores
        configuration.reset = input.reset
        configuration.processor = processing.processor
        configuration.extract = processing.extract
        configuration.key = processing.key
        configuration.filters = processing.filter
        configuration.ordering = processing.ordering
        configuration.reducerArguments = processing.batching.reducerArguments + ["--stuck-after", output.stuckAfter.description]
            + (processing.execFormat == .native ? [] : ["--exec-format", processing.execFormat.rawValue])
            + (processing.deadLetter.map { ["--dead-letter", $0] } ?? [])
        configuration.workerArguments = [
            "--checkpoint-interval", flow.checkpointInterval.description, "--max-pending", String(flow.maxPending),
            "--stuck-after", output.stuckAfter.description,
            "--shutdown-timeout", DurationArgument(.nanoseconds(flow.drainTimeout.amount.nanoseconds / 2)).description,
        ]
        configuration.drainTimeout = flow.drainTimeout.amount
        configuration.groupArguments = ["--drain-timeout", flow.drainTimeout.description]
        configuration.commonArguments = flow.maxFrameBytes == FrameDecoder.defaultMaximumFrameLength ? [] : ["--max-frame-bytes", String(flow.maxFrameBytes)]
        configuration.childLogLevel = logging.childLogLevel.rawValue
        configuration.batchRecords = input.recordsPerBatch ?? RunSourceOptions.defaultRecordsPerBatch
        configuration.progressInterval = output.noProgress ? nil : output.progressInterval.amount
        configuration.statsPath = output.statsJson
        configuration.metricsAddress = output.metricsListen.flatMap(MetricsEndpoint.Address.init(argument:))
        configuration.stuckAfter = output.stuckAfter.amount
        configuration.restart.limit = logging.restartLimit
        configuration.kcl.classpath = input.kclClasspath
        configuration.kcl.java = input.java
        configuration.kcl.mainClass = input.kclMainClass ?? KCLConfiguration.mainClass(for: processing.extract)
        configuration.injectedCheckpointErrors = input.injectCheckpointErrors.map(CheckpointError.init(name:))
        configuration.workerCommandOverride = input.workerCommand.map { $0.split(separator: " ").map(String.init) }
        return configuration
    }

    /// The running executable's path (nil when `/proc/self/exe` cannot be read).
    static var ownExecutable: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directory of the running executable.
    static var ownDirectory: String {
        guard let path = ownExecutable else { return "." }
        return path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }
}
