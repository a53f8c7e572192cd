import NIOCore

/// Everything `shardflow run` needs, validated by the command.
public struct LaunchConfiguration: Sendable {
    /// Directory holding `shardflow-worker`, `shardflow-router`, … (default: the launcher's own).
    public var binDirectory: String
    /// The executable that runs every process of the group and the local source's workers, each
    /// started under its program's path in ``binDirectory`` as `argv[0]` (see
    /// ``ShardFlowProgram``); nil: each program's own executable in ``binDirectory``. Either
    /// way `ps` shows the same command lines.
    public var groupExecutable: String?
    /// Socket directory; nil = a fresh private directory, removed at exit.
    public var runtimeDirectory: String?
    /// Where checkpoints are kept: `<stream>/checkpoints.json` for each local source.
    public var stateDirectory: String
    public var routers = 1
    public var mappers = 1
    public var reducers = 2
    /// The streams, each with a resolved name (empty: `--source none`, only the group runs).
    public var sources: [StreamSource]
    /// Shards of each local source.
    public var shards = 4
    public var processor: ProcessorSpecification = .discard
    public var extract: Extractor.Mode = .record
    public var key: Extractor.KeySelector = .partitionKey
    /// Event patterns (`--filter`): items no pattern matches are completed unprocessed.
    public var filters: [EventPattern] = []
    /// Whether each key's items keep their shard order (`--ordering`).
    public var ordering = RouterStateMachine.Ordering.perKey
    /// Extra reducer arguments (batching, retries, dead letters).
    public var reducerArguments: [String] = []
    /// Extra worker arguments (checkpoint interval, backpressure).
    public var workerArguments: [String] = []
    /// Extra arguments for every process (frame size, allowed uids).
    public var commonArguments: [String] = []
    /// Extra arguments for routers, mappers and reducers (their drain timeout).
    public var groupArguments: [String] = []
    public var childLogLevel = "warning"
    /// Records per `processRecords` message of the local source.
    public var batchRecords = 2000
    /// Progress line interval; nil = no progress lines.
    public var progressInterval: TimeAmount? = .seconds(1)
    /// Write the run's figures as JSON here.
    public var statsPath: String?
    /// Serve the group's Prometheus metrics here (`--metrics-listen`).
    public var metricsAddress: MetricsEndpoint.Address?
    /// A record incomplete this long is named in the progress line and the log.
    public var stuckAfter: TimeAmount = ProcessingDefaults.stuckAfter
    /// When a process (or the source) that exited is started again, and when the run gives up.
    public var restart = RestartPolicy()
    /// How long a process may take to report READY=1.
    public var readyTimeout: TimeAmount = .seconds(30)
    /// After SIGINT/SIGTERM, how long the whole stop may take before processes are killed.
    public var drainTimeout: TimeAmount = .seconds(30)
    /// Forget stored checkpoints first.
    public var reset = false
    /// The Java side of `--source kcl:`.
    public var kcl = KCLConfiguration()
    /// A different MultiLangDaemon child for the local source to drive instead of
    /// `shardflow-worker` (split on spaces, as the daemon splits `executableName`).
    public var workerCommandOverride: [String]?
    /// Testing and drills: answer the local source's next checkpoint requests with these errors.
    public var injectedCheckpointErrors: [CheckpointError] = []

    public init(binDirectory: String, stateDirectory: String, sources: [StreamSource]) {
        self.binDirectory = binDirectory
        self.stateDirectory = stateDirectory
        self.sources = sources
    }

    /// Whether any source is local (the launcher plays the daemon and keeps checkpoints).
    var hasLocalSource: Bool { sources.contains(where: \.isLocal) }

    /// Where a local stream's checkpoints and identity are kept.
    func stateDirectory(of stream: StreamSource) -> String { "\(stateDirectory)/\(stream.stream)" }

    func binary(_ name: String) -> String { "\(binDirectory)/\(name)" }
}
