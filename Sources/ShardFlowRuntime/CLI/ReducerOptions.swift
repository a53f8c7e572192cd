import ArgumentParser
import Logging
import NIOPosix

/// The options of a reducer process: the built-in `shardflow-reducer` and any reducer
/// executable a user builds around their own ``BatchProcessor``.
public struct ReducerOptions: ParsableArguments, Sendable {
    @OptionGroup public var common: CommonOptions

    @Option(parsing: .unconditional, help: "This reducer's index, 0..<R.")
    public var index: UInt32 = 0

    @Option(help: ArgumentHelp("Socket path (default: <runtime-dir>/reducer-<index>.sock).", valueName: "path"))
    public var socket: String?

    @Option(parsing: .unconditional, help: "Most items per processor batch.")
    public var batchSize: Int = ProcessingDefaults.batchSize

    @Option(help: ArgumentHelp("How long a free reducer waits for a partial batch to fill (0s: it processes at once what has arrived; batches grow while it is busy).", valueName: "duration"))
    public var batchTimeout = DurationArgument(ProcessingDefaults.batchTimeout)

    @Option(parsing: .unconditional, help: ArgumentHelp("Retries of a failed item before it is dead-lettered (or reported failed); default unlimited: the shard waits rather than loses data.", valueName: "n"))
    public var retries: Int?

    @Option(help: ArgumentHelp("First retry delay (doubles per attempt, up to --max-retry-delay).", valueName: "duration"))
    public var retryDelay = DurationArgument(ProcessingDefaults.retryDelay)

    @Option(help: ArgumentHelp("Longest delay between retries of a failed item.", valueName: "duration"))
    public var maxRetryDelay = DurationArgument(ProcessingDefaults.maxRetryDelay)

    @Option(help: ArgumentHelp("How long an exec: processor may take over one batch before it is killed and restarted, and the batch failed (retried); other processors are reported as stuck after this long.", valueName: "duration"))
    public var processorTimeout = DurationArgument(ProcessingDefaults.processorTimeout)

    @Option(help: ArgumentHelp("Write items that fail for good to DIR/dead-letter-reducer-<index>.jsonl and acknowledge them.", valueName: "dir"))
    public var deadLetter: String?

    @Option(help: ArgumentHelp(
        "Dead-letter (reason \"expired\") instead of processing an item whose record's approximateArrivalTimestamp is older than this when its turn comes; needs --dead-letter.",
        valueName: "duration"))
    public var maxRecordAge: DurationArgument?

    @Option(parsing: .unconditional, help: ArgumentHelp("The group's mapper count: a mapper outside 0..<n is refused.", valueName: "n"))
    public var mappers: Int?

    @Option(parsing: .unconditional, help: "Items each mapper may have queued here.")
    public var mapperWindowItems: UInt32 = FlowDefaults.mapperWindow.count

    @Option(parsing: .unconditional, help: ArgumentHelp("Bytes each mapper may have queued here.", valueName: "bytes"))
    public var mapperWindowBytes: UInt64 = FlowDefaults.mapperWindow.bytes

    @Option(help: ArgumentHelp("Name a key in the log once its items have been failing this long (then every 5 minutes while they do).", valueName: "duration"))
    public var stuckAfter = DurationArgument(ProcessingDefaults.stuckAfter)

    @Option(help: ArgumentHelp("How long a drain (SIGTERM) may take before the reducer exits anyway.", valueName: "duration"))
    public var drainTimeout = DurationArgument(ProcessingDefaults.drainTimeout)

    public init() {}

    public mutating func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size \(batchSize): must be positive") }
        guard processorTimeout.amount > .zero else { throw ValidationError("--processor-timeout \(processorTimeout): must be positive") }
        if let retries, retries < 0 { throw ValidationError("--retries \(retries): must not be negative") }
        if let mappers, mappers <= 0 { throw ValidationError("--mappers \(mappers): must be positive") }
        if let maxRecordAge {
            guard maxRecordAge.amount > .zero else { throw ValidationError("--max-record-age \(maxRecordAge): must be positive") }
            guard deadLetter != nil else {
                throw ValidationError("--max-record-age needs --dead-letter DIR: expired items are dead-lettered, never dropped")
            }
        }
    }
}

extension ProcessorSpecification: ExpressibleByArgument {}
