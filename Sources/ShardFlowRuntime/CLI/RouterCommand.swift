import ArgumentParser
import NIOPosix

/// `shardflow-router`: the stage-router. Workers send records here; mappers pull them.
public struct RouterCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "shardflow-router",
        abstract: "Route records from shard workers to mappers, and acknowledgements back.",
        discussion: """
            Listens on <runtime-dir>/router-<index>.sock, or on the socket systemd passes with \
            FileDescriptorName=router. Reports READY=1 and STATUS= lines through sd_notify.
            """,
        version: ShardFlowVersion.current
    )

    public init() {}

    @OptionGroup var common: CommonOptions

    @Option(help: "This router's index (stamped into every token; unique per group).")
    var index: UInt16 = 0

    @Option(help: ArgumentHelp("Socket path (default: <runtime-dir>/router-<index>.sock).", valueName: "path"))
    var socket: String?

    @Option(parsing: .unconditional, help: "Records each worker may have queued at this router.")
    var workerWindowRecords: UInt32 = FlowDefaults.workerWindow.count

    @Option(parsing: .unconditional, help: ArgumentHelp("Bytes each worker may have queued at this router.", valueName: "bytes"))
    var workerWindowBytes: UInt64 = FlowDefaults.workerWindow.bytes

    @Option(help: ArgumentHelp(
        "key: each shard's records go to one mapper, so every key's items reach their reducer in shard order. none: any mapper with credit (no ordering).",
        valueName: "key|none"))
    var ordering: RouterStateMachine.Ordering = .perKey

    @Flag(help: .hidden)
    var keyOrdered = false

    @Option(parsing: .unconditional, help: ArgumentHelp("The group's mapper count: a mapper outside 0..<n is refused.", valueName: "n"))
    var mappers: Int?

    @Option(help: ArgumentHelp("How long a drain (SIGTERM) may take before the router exits anyway.", valueName: "duration"))
    var drainTimeout = DurationArgument(ProcessingDefaults.drainTimeout)

    public func validate() throws {
        if let mappers, mappers <= 0 { throw ValidationError("--mappers must be positive") }
    }

    public func run() throws {
        tuneAllocator()
        prepareSignalHandling()
        let logger = common.bootstrapLogging(label: "shardflow-router-\(index)")
        if keyOrdered { logger.warning("--key-ordered is no longer needed: every key keeps its order by default (--ordering key); ignoring it") }
        let path = socket ?? common.runtimeDirectory.routerSocket(Int(index))
        let listen = try ListenAddress.resolve(activationName: "router", fallbackPath: path)
        if case .path = listen, socket == nil { try common.runtimeDirectory.prepare() }
        var configuration = RouterService.Configuration(index: index, listen: listen)
        configuration.transport = common.transport
        configuration.workerWindow = Credit(count: workerWindowRecords, bytes: workerWindowBytes)
        configuration.mapperCount = mappers
        configuration.ordering = ordering
        configuration.controlDirectory = common.runtimeDirectory.path + "/control"
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let service = RouterService(configuration: configuration, eventLoop: group.next(), logger: logger)
        let code = ProcessLifecycle.run(
            eventLoop: group.next(), logger: logger, drainTimeout: drainTimeout.amount,
            hooks: .init(start: service.start, drain: service.drain(reason:), status: { service.status })
        )
        // No event-loop shutdown: the process exits now, and NIO's shutdown would start a
        // libdispatch thread, which a sandboxed systemd service forbids to set its priority.
        ProcessExit.now(code)
    }
}
