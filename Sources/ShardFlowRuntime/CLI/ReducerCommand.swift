import ArgumentParser

/// `shardflow-reducer`: processes items in batches with a built-in processor.
public struct ReducerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "shardflow-reducer",
        abstract: "Process items in batches and acknowledge each one back to its shard's worker.",
        discussion: """
            Processors: discard (acknowledge at once), spin:MICROSECONDS (CPU-bound stand-in \
            for real work), jsonl:DIR (append to DIR/reducer-<index>.jsonl, fsync before \
            acknowledging), exec:CMD (a long-running child fed batches as JSON lines; see \
            docs/processors.md). Listens on <runtime-dir>/reducer-<index>.sock, or on the socket \
            systemd passes with FileDescriptorName=reducer.
            """,
        version: ShardFlowVersion.current
    )

    public init() {}

    @OptionGroup var reducer: ReducerOptions

    @Option(help: ArgumentHelp(
        "What to do with the items (required): jsonl:DIR, exec:CMD, spin:MICROSECONDS, or discard (acknowledge without processing).",
        valueName: "processor"))
    var processor: ProcessorSpecification

    @Option(help: ArgumentHelp("How an exec: child gets batches: native (one JSON line per batch) or lambda (the event a Kinesis or DynamoDB Streams Lambda function receives; it answers batchItemFailures by sequence number).", valueName: "native|lambda"))
    var execFormat: ExecFormat = .native

    public func validate() throws {
        if execFormat != .native, !processor.isExec {
            throw ValidationError("--exec-format \(execFormat.rawValue) applies to exec: processors, not to --processor \(processor)")
        }
    }

    public func run() throws {
        try ReducerRunner.run(reducer) { index in
            try processor.makeProcessor(reducerIndex: index, timeout: reducer.batching.processorTimeout.amount, format: execFormat)
        }
    }
}
