import ArgumentParser
import Logging
import NIOPosix

/// The options of a reducer process: the built-in `shardflow-reducer` and any reducer
/// executable a user builds around their own ``BatchProcessor``.
public struct ReducerOptions: ParsableArguments, Sendable {
    @OptionGroup public var common: CommonOptions

    @Option(help: "This reducer's index, 0..<R.")
    public var index: UInt32 = 0

    @Option(help: ArgumentHelp("Socket path (default: <runtime-dir>/reducer-<index>.sock).", valueName: "path"))
    public var socket: String?

    @Option(help: "Most items per processor batch.")
    public var batchSize: Int = 500

    @Option(help: "Process a partial batch once its oldest item waited this long.")
    public var batchTimeout = DurationArgument(.milliseconds(50))

    @Option(help: ArgumentHelp("Retries of a failed item before it is dead-lettered (or reported failed); default unlimited: the shard waits rather than loses data.", valueName: "n"))
    public var retries: Int?

    @Option(help: "First retry delay (doubles per attempt, up to 30s).")
    public var retryDelay = DurationArgument(.milliseconds(100))

    @Option(help: ArgumentHelp("Write items that fail for good to DIR/dead-letter-reducer-<index>.jsonl and acknowledge them.", valueName: "dir"))
    public var deadLetter: String?

    @Option(help: "Items each mapper may have queued here.")
    public var mapperWindowItems: UInt32 = 16384

    @Option(help: ArgumentHelp("Bytes each mapper may have queued here.", valueName: "bytes"))
    public var mapperWindowBytes: UInt64 = 32 * 1024 * 1024

    @Option(help: "How long a drain (SIGTERM) may take before the reducer exits anyway.")
    public var drainTimeout = DurationArgument(.seconds(60))

    public init() {}

    public mutating func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        if let retries, retries < 0 { throw ValidationError("--retries must not be negative") }
    }
}

/// Runs a reducer process around a processor: what `shardflow-reducer` does, and what a
/// custom reducer executable calls (see `Examples/CustomReducer`).
public enum ReducerRunner {
    /// Parses nothing: `options` come from the caller's command. Never returns normally: throws
    /// `ExitCode` with the process's exit status.
    public static func run(_ options: ReducerOptions, processor makeProcessor: (_ index: Int) throws -> BatchProcessor) throws {
        tuneAllocator()
        prepareSignalHandling()
        let logger = options.common.bootstrapLogging(label: "shardflow-reducer-\(options.index)")
        let path = options.socket ?? options.common.runtimeDirectory.reducerSocket(Int(options.index))
        let listen = try ListenAddress.resolve(activationName: "reducer", fallbackPath: path)
        // A socket passed by systemd needs no directory of ours; one we bind does.
        if case .path = listen, options.socket == nil { try options.common.runtimeDirectory.prepare() }
        var configuration = ReducerService.Configuration(index: options.index, listen: listen)
        configuration.transport = options.common.transport
        configuration.machine.batchSize = options.batchSize
        configuration.machine.batchTimeout = options.batchTimeout.amount
        configuration.machine.retries = options.retries
        configuration.machine.retryDelay = options.retryDelay.amount
        configuration.machine.mapperWindow = Credit(count: options.mapperWindowItems, bytes: options.mapperWindowBytes)
        configuration.deadLetterDirectory = options.deadLetter
        let processor = try makeProcessor(Int(options.index))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let service = try ReducerService(configuration: configuration, processor: processor, eventLoop: group.next(), logger: logger)
        let code = ProcessLifecycle.run(
            eventLoop: group.next(), logger: logger, drainTimeout: options.drainTimeout.amount,
            hooks: .init(start: service.start, drain: service.drain(reason:), status: { service.status })
        )
        try? group.syncShutdownGracefully()
        throw ExitCode(code)
    }
}

extension ProcessorSpecification: ExpressibleByArgument {}
