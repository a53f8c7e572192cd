import ArgumentParser
import ShardFlowCore

/// How reducers batch items and handle failures: the same options, defaults and help for
/// `shardflow-reducer` (and reducers of your own), `shardflow run` and `shardflow systemd
/// install`, which pass them on as ``reducerArguments``.
public struct BatchProcessingOptions: ParsableArguments, Sendable {
    @Option(parsing: .unconditional, help: ArgumentHelp("Most items per processor batch.", valueName: "n"))
    public var batchSize: Int = ProcessingDefaults.batchSize

    @Option(help: ArgumentHelp("How long a free reducer waits for a partial batch to fill (0s: it processes at once what has arrived; batches grow while it is busy).", valueName: "duration"))
    public var batchTimeout = DurationArgument(ProcessingDefaults.batchTimeout)

    @Option(parsing: .unconditional, help: ArgumentHelp("Retries of a failed item before it is dead-lettered, or reported failed without --dead-letter (default: unlimited; the shard waits rather than loses data).", valueName: "n"))
    public var retries: Int?

    @Option(help: ArgumentHelp("First delay before retrying a failed item (doubles per attempt, up to --max-retry-delay).", valueName: "duration"))
    public var retryDelay = DurationArgument(ProcessingDefaults.retryDelay)

    @Option(help: ArgumentHelp("Longest delay between retries of a failed item (a full disk is retried at least this often).", valueName: "duration"))
    public var maxRetryDelay = DurationArgument(ProcessingDefaults.maxRetryDelay)

    @Option(help: ArgumentHelp("How long an exec: processor may take over one batch before it is killed and restarted (the batch is retried); other processors are reported as stuck after this long.", valueName: "duration"))
    public var processorTimeout = DurationArgument(ProcessingDefaults.processorTimeout)

    @Option(help: ArgumentHelp(
        "Dead-letter (reason \"expired\") instead of processing an item whose record arrived in the stream longer ago than this when its turn comes; needs --dead-letter (default: no limit).",
        valueName: "duration"))
    public var maxRecordAge: DurationArgument?

    public init() {}

    public func validate() throws {
        guard batchSize > 0, batchSize <= 1_000_000 else { throw ValidationError("--batch-size \(batchSize): must be between 1 and 1000000") }
        if let retries, retries < 0 { throw ValidationError("--retries \(retries): must be 0 or more") }
        guard processorTimeout.amount > .zero else { throw ValidationError("--processor-timeout \(processorTimeout): must be positive") }
        if let maxRecordAge, maxRecordAge.amount <= .zero { throw ValidationError("--max-record-age \(maxRecordAge): must be positive") }
    }

    /// `--max-record-age` dead-letters what it expires: it needs a dead-letter directory.
    public func validate(deadLetter: String?) throws {
        if maxRecordAge != nil, deadLetter?.isEmpty ?? true {
            throw ValidationError("--max-record-age needs --dead-letter DIR: expired items are dead-lettered, never dropped")
        }
    }

    /// These options as a reducer's command-line arguments.
    public var reducerArguments: [String] {
        ["--batch-size", String(batchSize), "--batch-timeout", batchTimeout.description,
         "--retry-delay", retryDelay.description, "--max-retry-delay", maxRetryDelay.description,
         "--processor-timeout", processorTimeout.description]
            + (retries.map { ["--retries", String($0)] } ?? [])
            + (maxRecordAge.map { ["--max-record-age", $0.description] } ?? [])
    }
}
