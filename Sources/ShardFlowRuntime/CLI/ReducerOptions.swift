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

    @OptionGroup public var batching: BatchProcessingOptions

    @Option(help: ArgumentHelp("Write items that fail for good to DIR/dead-letter-reducer-<index>.jsonl and acknowledge them.", valueName: "dir"))
    public var deadLetter: String?

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
        if let mappers, mappers <= 0 { throw ValidationError("--mappers \(mappers): must be positive") }
        try batching.validate(deadLetter: deadLetter)
    }
}

extension ProcessorSpecification: ExpressibleByArgument {}
