import ArgumentParser
import NIOPosix

/// `shardflow-mapper`: extracts items from records and partitions them over the reducers.
public struct MapperCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "shardflow-mapper",
        abstract: "Pull records from every router, extract items, send each to reducer partition(key, R).",
        discussion: """
            Connects to <runtime-dir>/router-<i>.sock for i in 0..<--routers and to \
            <runtime-dir>/reducer-<j>.sock for j in 0..<--reducers, and keeps reconnecting to \
            any it loses. Each record becomes items (--extract), filtered (--filter), and each \
            item goes to the reducer jump-hash(key, R) picks (--key), so a key always reaches \
            the same reducer; acknowledgements flow back the same way. Reports READY=1 and \
            STATUS= lines through sd_notify (--ready-on says when it is ready).
            """,
        version: ShardFlowVersion.current
    )

    public init() {}

    @OptionGroup var common: CommonOptions

    @Option(parsing: .unconditional, help: "This mapper's index.")
    var index: UInt32 = 0

    @Option(parsing: .unconditional, help: "Number of routers (sockets <runtime-dir>/router-<i>.sock).")
    var routers: Int = 1

    @Option(parsing: .unconditional, help: "Number of reducers R (sockets <runtime-dir>/reducer-<i>.sock).")
    var reducers: Int = 1

    @Option(help: ArgumentHelp(
        "How records become items: record (one each), kpl (de-aggregate KPL), lines (one per non-empty line), dynamodb (one DynamoDB Streams change each).",
        valueName: "mode"))
    var extract: Extractor.Mode = .record

    @Option(help: ArgumentHelp(
        "Partitioning key: partitionKey, or json:/pointer into the item (objects and arrays in canonical form). dynamodb: the record's Keys.",
        valueName: "key"))
    var key: Extractor.KeySelector = .partitionKey

    @Option(help: ArgumentHelp(
        "Process only items matching this Lambda-style event pattern (repeatable: any may match); the others are completed unprocessed.",
        valueName: "pattern"), transform: EventPattern.argument)
    var filter: [EventPattern] = []

    @Option(help: ArgumentHelp("Read --filter patterns from this file, one per line (# starts a comment).", valueName: "path"))
    var filterFile: String?

    @Option(help: ArgumentHelp(
        "Report READY=1 once connected to every router and reducer (all), or to every reducer (reducers: under systemd, where the router starts after the mappers).",
        valueName: "all|reducers"))
    var readyOn: ReadyOn = .all

    enum ReadyOn: String, ExpressibleByArgument { case all, reducers }

    @Option(parsing: .unconditional, help: "Records each router may have queued here.")
    var routerWindowRecords: UInt32 = FlowDefaults.routerWindow.count

    @Option(help: ArgumentHelp("How long a drain (SIGTERM) may take before the mapper exits anyway.", valueName: "duration"))
    var drainTimeout = DurationArgument(ProcessingDefaults.drainTimeout)

    public func validate() throws {
        guard routers > 0, reducers > 0 else { throw ValidationError("--routers and --reducers must be positive") }
    }

    public func run() throws {
        tuneAllocator()
        prepareSignalHandling()
        let logger = common.bootstrapLogging(label: "shardflow-mapper-\(index)")
        let directory = common.runtimeDirectory
        var configuration = MapperService.Configuration(
            index: index,
            routerSockets: (0..<routers).map(directory.routerSocket),
            reducerSockets: (0..<reducers).map(directory.reducerSocket),
            extractor: Extractor(mode: extract, key: key)
        )
        configuration.transport = common.transport
        configuration.controlDirectory = directory.path + "/control"
        configuration.readyOnReducersOnly = readyOn == .reducers
        configuration.machine.routerWindow.count = routerWindowRecords
        configuration.machine.filter = EventFilter(patterns: filter + (try filterFile.map(EventPattern.patterns(inFile:)) ?? []))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let service = MapperService(configuration: configuration, eventLoop: group.next(), logger: logger)
        let code = ProcessLifecycle.run(
            eventLoop: group.next(), logger: logger, drainTimeout: drainTimeout.amount,
            hooks: .init(start: service.start, drain: service.drain(reason:), status: { service.status })
        )
        // No event-loop shutdown: the process exits now, and NIO's shutdown would start a
        // libdispatch thread, which a sandboxed systemd service forbids to set its priority.
        ProcessExit.now(code)
    }
}
