import ArgumentParser
import NIOPosix
import ShardFlowRuntime

/// `shardflow-router`: the stage-router. Workers send records here; mappers pull them.
struct RouterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shardflow-router",
        abstract: "Route records from shard workers to mappers, and acknowledgements back.",
        discussion: """
            Listens on <runtime-dir>/router-<index>.sock, or on the socket systemd passes with \
            FileDescriptorName=router. Reports READY=1 and STATUS= lines through sd_notify.
            """,
        version: ShardFlowVersion.current
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "This router's index (stamped into every token; unique per group).")
    var index: UInt16 = 0

    @Option(help: ArgumentHelp("Socket path (default: <runtime-dir>/router-<index>.sock).", valueName: "path"))
    var socket: String?

    @Option(help: "Records each worker may have queued at this router.")
    var workerWindowRecords: UInt32 = FlowDefaults.workerWindow.count

    @Option(help: ArgumentHelp("Bytes each worker may have queued at this router.", valueName: "bytes"))
    var workerWindowBytes: UInt64 = FlowDefaults.workerWindow.bytes

    @Flag(help: ArgumentHelp(
        "Key-ordered routing: each record goes to mapper partition(partitionKey, --mappers), so items of one key keep their shard order end to end (needs --mappers)."))
    var keyOrdered = false

    @Option(help: ArgumentHelp("The group's mapper count: a mapper outside 0..<n is refused (needed by --key-ordered).", valueName: "n"))
    var mappers: Int?

    @Option(help: "How long a drain (SIGTERM) may take before the router exits anyway.")
    var drainTimeout = DurationArgument(ProcessingDefaults.drainTimeout)

    func validate() throws {
        if let mappers, mappers <= 0 { throw ValidationError("--mappers must be positive") }
        if keyOrdered {
            guard let mappers else { throw ValidationError("--key-ordered needs --mappers (the group's mapper count)") }
            guard mappers > 0 else { throw ValidationError("--mappers must be positive") }
        }
    }

    func run() throws {
        tuneAllocator()
        prepareSignalHandling()
        let logger = common.bootstrapLogging(label: "shardflow-router-\(index)")
        let path = socket ?? common.runtimeDirectory.routerSocket(Int(index))
        let listen = try ListenAddress.resolve(activationName: "router", fallbackPath: path)
        if case .path = listen, socket == nil { try common.runtimeDirectory.prepare() }
        var configuration = RouterService.Configuration(index: index, listen: listen)
        configuration.transport = common.transport
        configuration.workerWindow = Credit(count: workerWindowRecords, bytes: workerWindowBytes)
        configuration.mapperCount = mappers
        if keyOrdered, let mappers { configuration.routing = .byPartitionKey(mappers: mappers) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let service = RouterService(configuration: configuration, eventLoop: group.next(), logger: logger)
        let code = ProcessLifecycle.run(
            eventLoop: group.next(), logger: logger, drainTimeout: drainTimeout.amount,
            hooks: .init(start: service.start, drain: service.drain(reason:), status: { service.status })
        )
        try? group.syncShutdownGracefully()
        throw ExitCode(code)
    }
}

RouterCommand.main()
