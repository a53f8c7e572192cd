import ArgumentParser

extension SourceSpecification: ExpressibleByArgument {}

extension StreamSource: ExpressibleByArgument {}

/// `shardflow run`: where records come from, and where their checkpoints are kept.
public struct RunSourceOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp(
        "[NAME=]file:PATH | [NAME=]generate:COUNT[,size=BYTES][,keys=K] | [NAME=]kcl:PROPERTIES | none. Repeatable: several streams share the group; NAME (default: the file's or stream's name) reaches the processor as each item's stream.",
        valueName: "source"))
    public var source: [StreamSource] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Shards of each local source (file:, generate:; default: \(RunSourceOptions.defaultShards)).", valueName: "n"))
    public var shards: Int?

    @Option(help: ArgumentHelp("Where the local sources' checkpoints are kept; a rerun resumes from them.", valueName: "dir"))
    public var state: String = "shardflow-state"

    @Flag(help: "Forget the local sources' stored checkpoints and process them from the start (refused while --processor jsonl:DIR holds earlier output).")
    public var reset = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Records per processRecords message of the local source (default: \(RunSourceOptions.defaultRecordsPerBatch)); a message also ends at 512 KiB.", valueName: "n"))
    public var recordsPerBatch: Int?

    @Option(help: ArgumentHelp("The KCL multilang classpath, such as '/opt/kcl/lib/*' (default: none; kcl: sources need it).", valueName: "classpath"))
    public var kclClasspath: String?

    @Option(help: ArgumentHelp("The java executable (for kcl: sources).", valueName: "path"))
    public var java: String = "java"

    @Option(help: ArgumentHelp(
        "The daemon's main class (for kcl: sources; default: the Kinesis MultiLangDaemon, or the DynamoDB Streams adapter's with --extract dynamodb).",
        valueName: "class"))
    public var kclMainClass: String?

    @Option(help: ArgumentHelp("Drive this MultiLangDaemon child instead of shardflow-worker (split on spaces, like executableName; default: shardflow-worker).", valueName: "command"))
    public var workerCommand: String?

    @Option(help: .hidden)
    public var injectCheckpointErrors: [String] = []

    public static let defaultShards = 4
    public static let defaultRecordsPerBatch = 1000

    public init() {}
}
