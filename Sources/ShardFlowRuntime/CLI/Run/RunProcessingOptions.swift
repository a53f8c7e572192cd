import ArgumentParser
import ShardFlowCore

/// `shardflow run`: what becomes of the records — items, keys, order, filters, the processor,
/// its batches and its failures.
public struct RunProcessingOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("discard | spin:MICROSECONDS | jsonl:DIR | exec:CMD (see docs/processors.md).", valueName: "processor"))
    public var processor: ProcessorSpecification = .jsonLines(directory: "shardflow-output")

    @Option(help: ArgumentHelp("How exec: children get batches: native (one JSON line per batch, docs/processors.md) or lambda (the event a Kinesis or DynamoDB Streams Lambda function receives; it answers batchItemFailures).", valueName: "native|lambda"))
    public var execFormat: ExecFormat = .native

    @Option(help: ArgumentHelp(
        "record: one item per record. kpl: de-aggregate KPL records. lines: one item per line. dynamodb: one item per DynamoDB Streams change, keyed by its Keys.",
        valueName: "record|kpl|lines|dynamodb"))
    public var extract: Extractor.Mode = .record

    @Option(help: ArgumentHelp(
        "partitionKey, or json:/pointer into the item's JSON data (objects and arrays are keyed in canonical form).",
        valueName: "key"))
    public var key: Extractor.KeySelector = .partitionKey

    @Option(help: ArgumentHelp(
        "Process only items matching this Lambda-style event pattern, e.g. '{\"eventName\": [\"INSERT\"]}' (repeatable: any may match; default: every item). Other items are completed unprocessed and counted.",
        valueName: "pattern"), transform: EventPattern.argument)
    public var filter: [EventPattern] = []

    @Option(help: ArgumentHelp(
        "key: the items of each key reach the processor in the order of their records in the shard. none: no ordering (each shard's records may spread over all mappers).",
        valueName: "key|none"))
    public var ordering: RouterStateMachine.Ordering = .perKey

    @Flag(help: .hidden)
    public var keyOrdered = false

    @OptionGroup public var batching: BatchProcessingOptions

    @Option(help: ArgumentHelp("Dead-letter directory for items that fail for good (default: none; they are reported failed and their records resent).", valueName: "dir"))
    public var deadLetter: String?

    public init() {}
}
