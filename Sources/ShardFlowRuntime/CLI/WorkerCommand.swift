import ArgumentParser
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// `shardflow-worker`: the MultiLangDaemon child for one shard (the daemon's `executableName`).
public struct WorkerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "shardflow-worker",
        abstract: "Speak the KCL MultiLangDaemon protocol for one shard and feed its records to ShardFlow.",
        discussion: """
            Reads the daemon's JSON lines on stdin and answers on stdout (logs go to stderr). \
            Sends records to a router, keeps each until all its items are processed, and \
            checkpoints only past complete records. Exits when stdin closes.
            """,
        version: ShardFlowVersion.current
    )

    public init() {}

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("router"), help: ArgumentHelp("A router socket (repeatable; default: <runtime-dir>/router-<i>.sock for each of --routers).", valueName: "path"))
    var routerPaths: [String] = []

    @Option(parsing: .unconditional, help: "Number of routers in <runtime-dir> when no --router is given.")
    var routers: Int = 1

    @Option(help: ArgumentHelp("The stream this shard belongs to: every item carries it to the processor.", valueName: "name"))
    var stream: String = ""

    @Option(parsing: .unconditional, help: "Incomplete records at which the status to the daemon is held back (backpressure); it also is at \(ProcessingDefaults.heldPerPending) times as many records held behind one still incomplete.")
    var maxPending: Int = ProcessingDefaults.maxPending

    @Option(parsing: .unconditional, help: ArgumentHelp("A held status is released below this many incomplete records (default: half of --max-pending).", valueName: "n"))
    var lowWater: Int?

    @Option(help: ArgumentHelp("Minimum time between checkpoints while records flow.", valueName: "duration"))
    var checkpointInterval = DurationArgument(ProcessingDefaults.checkpointInterval)

    @Option(help: ArgumentHelp("How long shutdownRequested waits for in-flight records before checkpointing.", valueName: "duration"))
    var shutdownTimeout = DurationArgument(ProcessingDefaults.shutdownTimeout)

    @Option(parsing: .unconditional, help: ArgumentHelp("Longest line accepted on stdin.", valueName: "bytes"))
    var maxLineBytes: Int = 256 * 1024 * 1024

    @Option(help: ArgumentHelp("Name a record in the log once it has been incomplete this long (then every 5 minutes while it stays).", valueName: "duration"))
    var stuckAfter = DurationArgument(ProcessingDefaults.stuckAfter)

    public func validate() throws {
        guard maxPending > 0 else { throw ValidationError("--max-pending must be positive") }
        if let lowWater, lowWater <= 0 || lowWater > maxPending {
            throw ValidationError("--low-water must be between 1 and --max-pending")
        }
        guard routers > 0 || !routerPaths.isEmpty else { throw ValidationError("--routers must be positive") }
        guard stream.utf8.count <= Hello.maximumNameLength else {
            throw ValidationError("--stream is \(stream.utf8.count) bytes long; at most \(Hello.maximumNameLength) are allowed")
        }
    }

    public func run() throws {
        tuneAllocator()
        // stdin closing ends a worker, not a terminal's Ctrl-C; SIGTERM (from the daemon) ends it at once.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        signal(SIGTERM, SIG_DFL)
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let logger = common.bootstrapLogging(label: "shardflow-worker")
        var configuration = WorkerService.Configuration(
            routerSockets: routerPaths.isEmpty ? (0..<routers).map(common.runtimeDirectory.routerSocket) : routerPaths)
        configuration.transport = common.transport
        configuration.maximumLineLength = maxLineBytes
        configuration.controlDirectory = common.runtimeDirectory.path + "/control"
        configuration.stuckAfter = stuckAfter.amount
        configuration.machine.stream = stream
        configuration.machine.maxPending = maxPending
        configuration.machine.lowWater = lowWater ?? max(1, maxPending / 2)
        configuration.machine.maxHeld = ProcessingDefaults.maxHeld(maxPending: maxPending)
        configuration.machine.checkpointInterval = checkpointInterval.amount
        configuration.machine.shutdownDrainTimeout = shutdownTimeout.amount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let service = WorkerService(configuration: configuration, eventLoop: group.next(), logger: logger)
        let code = try service.run()
        // No event-loop shutdown: the process exits now, and NIO's shutdown would start a
        // libdispatch thread, which a sandboxed systemd service forbids to set its priority.
        ProcessExit.now(code)
    }
}
