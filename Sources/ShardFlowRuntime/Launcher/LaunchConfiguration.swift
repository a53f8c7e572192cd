import NIOCore

/// Where the launcher's records come from (`--source`).
public enum SourceSpecification: Sendable, Hashable, CustomStringConvertible {
    /// JSON lines `{"partitionKey": "...", "data": "<base64>"}` (the local source).
    case file(path: String)
    /// Synthetic records (the local source).
    case generate(count: Int, size: Int, keys: Int)
    /// The Java KCL MultiLangDaemon with these properties.
    case kcl(properties: String)
    /// Only the group; workers are started by someone else.
    case none

    /// Parses `file:PATH`, `generate:COUNT[,size=BYTES][,keys=K]`, `kcl:PROPERTIES` or `none`.
    public init?(argument: String) {
        if argument == "none" {
            self = .none
        } else if argument.hasPrefix("file:"), argument.count > 5 {
            self = .file(path: String(argument.dropFirst(5)))
        } else if argument.hasPrefix("kcl:"), argument.count > 4 {
            self = .kcl(properties: String(argument.dropFirst(4)))
        } else if argument.hasPrefix("generate:") {
            let parts = argument.dropFirst(9).split(separator: ",")
            guard let first = parts.first, let count = Int(first), count >= 0 else { return nil }
            var size = 100
            var keys = 1000
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, let value = Int(pair[1]), value > 0 else { return nil }
                switch pair[0] {
                case "size": size = value
                case "keys": keys = value
                default: return nil
                }
            }
            self = .generate(count: count, size: size, keys: keys)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .file(let path): "file:\(path)"
        case .generate(let count, let size, let keys): "generate:\(count),size=\(size),keys=\(keys)"
        case .kcl(let properties): "kcl:\(properties)"
        case .none: "none"
        }
    }

    /// Whether the launcher itself plays the daemon (file and generate sources).
    var isLocal: Bool {
        switch self {
        case .file, .generate: true
        case .kcl, .none: false
        }
    }
}

/// Everything `shardflow run` needs, validated by the command.
public struct LaunchConfiguration: Sendable {
    /// Directory holding `shardflow-worker`, `shardflow-router`, … (default: the launcher's own).
    public var binDirectory: String
    /// Socket directory; nil = a fresh private directory, removed at exit.
    public var runtimeDirectory: String?
    /// Where checkpoints are kept (`checkpoints.json`).
    public var stateDirectory: String
    public var routers = 1
    public var mappers = 1
    public var reducers = 2
    public var source: SourceSpecification
    /// Shards of the local source.
    public var shards = 4
    public var processor: ProcessorSpecification = .discard
    public var extract: Extractor.Mode = .record
    public var key: Extractor.KeySelector = .partitionKey
    /// Key-ordered routing (DESIGN §6): routers pick the mapper by the record's partition key.
    public var keyOrdered = false
    /// Extra reducer arguments (batching, retries, dead letters).
    public var reducerArguments: [String] = []
    /// Extra worker arguments (checkpoint interval, backpressure).
    public var workerArguments: [String] = []
    /// Extra arguments for every process (frame size, allowed uids).
    public var commonArguments: [String] = []
    public var childLogLevel = "warning"
    /// Records per `processRecords` message of the local source.
    public var batchRecords = 2000
    /// Progress line interval; nil = no progress lines.
    public var progressInterval: TimeAmount? = .seconds(1)
    /// Write the run's figures as JSON here.
    public var statsPath: String?
    /// A process that exits this many times within `restartWindow` ends the run.
    public var restartLimit = 5
    public var restartWindow: TimeAmount = .seconds(60)
    /// How long a process may take to report READY=1.
    public var readyTimeout: TimeAmount = .seconds(30)
    /// Forget stored checkpoints first.
    public var reset = false
    /// The Java side of `--source kcl:`.
    public var kcl = KCLConfiguration()
    /// A different MultiLangDaemon child for the local source to drive instead of
    /// `shardflow-worker` (split on spaces, as the daemon splits `executableName`).
    public var workerCommandOverride: [String]?
    /// Testing and drills: answer the local source's next checkpoint requests with these errors.
    public var injectedCheckpointErrors: [String] = []

    public init(binDirectory: String, stateDirectory: String, source: SourceSpecification) {
        self.binDirectory = binDirectory
        self.stateDirectory = stateDirectory
        self.source = source
    }

    func binary(_ name: String) -> String { "\(binDirectory)/\(name)" }
}

/// How to run the Java KCL MultiLangDaemon.
public struct KCLConfiguration: Sendable, Hashable {
    /// The `java` executable.
    public var java = "java"
    /// The daemon's classpath (the KCL multilang jars and their dependencies).
    public var classpath: String?
    /// KCL 2.x/3.x; use `com.amazonaws.services.kinesis.multilang.MultiLangDaemon` for 1.x, or
    /// `com.amazonaws.services.dynamodbv2.streamsadapter.StreamsMultiLangDaemon` for DynamoDB
    /// Streams.
    public var mainClass = "software.amazon.kinesis.multilang.MultiLangDaemon"

    public init() {}
}
