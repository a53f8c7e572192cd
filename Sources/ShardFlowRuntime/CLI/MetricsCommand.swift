import ArgumentParser
import Logging
import NIOPosix

/// `shardflow metrics`: the Prometheus scrape endpoint of a group on this host, for a group run
/// by systemd (`shardflow-metrics.socket` passes it its socket) or any other group given its
/// runtime directory. `shardflow run --metrics-listen` serves the same from the launcher.
public struct MetricsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Serve the Prometheus metrics of every process of a group on this host.",
        discussion: """
            GET /metrics gathers every process's metrics from its control socket in \
            <runtime-dir>/control, so the endpoint outlives any one of them. Listens on the \
            socket systemd passes (FileDescriptorName=metrics), else on --listen.
            """
    )

    @Option(help: ArgumentHelp("The group's socket directory (default: $SHARDFLOW_RUNTIME_DIR, else $XDG_RUNTIME_DIR/shardflow, else /run/shardflow for root).", valueName: "dir"))
    var runtimeDir: String?

    @Option(help: ArgumentHelp("Address to listen on without socket activation.", valueName: "host:port"))
    var listen: String = "127.0.0.1:9464"

    @Option(help: ArgumentHelp("Log level.", valueName: "level"))
    var logLevel: Logger.Level = .info

    @Option(name: .customLong("allow-uid"), help: ArgumentHelp("Also trust processes running as this user id (repeatable).", valueName: "uid"))
    var allowedUIDs: [UInt32] = []

    public init() {}

    public func validate() throws {
        guard runtimeDir ?? RuntimeDirectory.defaultPath != nil else { throw ValidationError(RuntimeDirectory.noDefaultMessage) }
        guard MetricsEndpoint.Address(argument: listen) != nil else { throw ValidationError("--listen \(listen): expected HOST:PORT, such as 127.0.0.1:9464") }
    }

    public func run() throws {
        prepareSignalHandling()
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "shardflow-metrics")
        let directory = (runtimeDir ?? RuntimeDirectory.defaultPath!) + "/control"
        let passed = try SocketActivation.takePassedSockets(allowingTCP: true)
        let address: MetricsEndpoint.Address
        if let socket = passed.first(where: { $0.name == "metrics" }) ?? (passed.count == 1 ? passed.first : nil) {
            address = .descriptor(socket.descriptor)
        } else {
            address = MetricsEndpoint.Address(argument: listen)!
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let endpoint = MetricsEndpoint(
            gatherer: MetricsGatherer(controlDirectory: directory, allowedUIDs: Set(allowedUIDs), process: "metrics"), logger: logger)
        let bound = try endpoint.start(at: address, on: group).wait()
        logger.info("serving the metrics of the group in \(directory) at http://\(bound.map { "\($0)" } ?? address.description)/metrics")
        SystemdNotifier.ready(status: "serving metrics")
        let stop = group.next().makePromise(of: Void.self)
        SignalWaiter.start { _ in stop.succeed() }
        try stop.futureResult.wait()
        endpoint.stop()
        // No event-loop shutdown: the process exits now, and NIO's shutdown would start a
        // libdispatch thread, which a sandboxed systemd service forbids to set its priority.
    }
}
