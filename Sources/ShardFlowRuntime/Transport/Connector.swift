import Logging
import NIOCore
import NIOPosix

/// Keeps one outgoing frame connection to a Unix socket alive: connects, and after a failure or
/// a close reconnects with backoff until stopped. A socket that does not exist yet (its
/// listener is starting) or that is held by systemd while its service restarts is simply
/// retried. Given several paths (equivalent peers, such as a worker's routers), it moves to
/// the next one after each failure or close.
final class Connector: @unchecked Sendable {
    let paths: [String]
    private var pathIndex: Int
    var path: String { paths[pathIndex] }
    let label: String
    private let eventLoop: EventLoop
    private let transport: TransportConfiguration
    private let registry: ConnectionRegistry
    private let delegate: ConnectionDelegate
    private let logger: Logger
    private let onConnection: (Connection) -> Void
    /// Starts at 2 ms: at start-up a mapper's peers bind their sockets a few milliseconds after
    /// it first tries them, and the next tries come at once; later ones back off to 2 s.
    private var backoff = Backoff(initial: .milliseconds(2), maximum: .seconds(2))
    /// When ``start()`` was called, until the first connection: failures in the first second
    /// are the peers starting up, not worth a line at info.
    private var startedAt: NIODeadline?
    /// A failure of this run of failures was logged at info (the first after the grace).
    private var failureReported = false
    private var stopped = false
    private var failures = 0
    /// When the current connection was made: only one that lasted resets the backoff, so a
    /// peer that accepts and at once refuses (a handshake error) is not hammered.
    private var connectedAt: NIODeadline?
    private(set) var current: Connection?

    init(
        paths: [String],
        startingAt first: Int = 0,
        label: String,
        eventLoop: EventLoop,
        transport: TransportConfiguration,
        registry: ConnectionRegistry,
        delegate: ConnectionDelegate,
        logger: Logger,
        onConnection: @escaping (Connection) -> Void
    ) {
        precondition(!paths.isEmpty, "a connector needs a path")
        self.paths = paths
        self.pathIndex = first % paths.count
        self.label = label
        self.eventLoop = eventLoop
        self.transport = transport
        self.registry = registry
        self.delegate = delegate
        self.logger = logger
        self.onConnection = onConnection
    }

    func start() {
        eventLoop.execute {
            self.startedAt = .now()
            self.attempt()
        }
    }

    func stop() {
        stopped = true
        current?.close(with: nil)
    }

    /// Called by the service when this connector's connection closed.
    func connectionClosed(_ connection: Connection) {
        guard current === connection else { return }
        current = nil
        if let connectedAt, NIODeadline.now() - connectedAt >= Self.establishedAfter {
            failures = 0
            failureReported = false
            backoff.reset()
        }
        connectedAt = nil
        pathIndex = (pathIndex + 1) % paths.count
        scheduleRetry()
    }

    private func attempt() {
        guard !stopped else { return }
        let path = self.path
        do {
            try RuntimeDirectory.verifyForConnecting(Self.directory(of: path))
        } catch {
            failed("\(error)")
            return
        }
        let transport = self.transport
        ClientBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: TransportConfiguration.readAllocator)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ListenerTrustHandler(
                        transport: transport, path: path, logger: self.logger) { self.untrusted(channel) })
                    let connection = try self.registry.attach(
                        channel, peer: self.label, transport: transport, delegate: self.delegate, logger: self.logger)
                    self.current = connection
                    self.onConnection(connection)
                }
            }
            .connect(unixDomainSocketPath: path)
            .whenComplete { result in
                switch result {
                case .success:
                    if self.failures > 0 {
                        let starting = self.startedAt.map { NIODeadline.now() - $0 < Self.startUpGrace } ?? false
                        self.logger.log(level: starting ? .debug : .info, "connected to \(self.label) at \(path) after \(self.failures) failed attempts")
                    }
                    self.startedAt = nil
                    self.connectedAt = .now()
                case .failure(let error):
                    if let current = self.current, current.channel.isActive == false { self.registry.remove(current.id) }
                    self.current = nil
                    self.failed("cannot connect to \(self.label) at \(path): \(error)")
                }
            }
    }

    /// The listener at the other end is not trusted: its connection was closed before anything
    /// was sent; try again later (the right listener may take the path back).
    private func untrusted(_ channel: Channel) {
        if let current, current.channel === channel {
            registry.remove(current.id)
            self.current = nil
        }
        connectedAt = nil
        failed(nil)
    }

    /// A failed attempt: log (at debug while the peers may still be starting, then the first and
    /// every 50th at info; a refused listener as an error), move on to the next path and retry
    /// after the backoff.
    private func failed(_ message: String?) {
        failures += 1
        pathIndex = (pathIndex + 1) % paths.count
        if let message {
            if message.hasPrefix("refusing") {
                if failures == 1 || failures % 50 == 0 { logger.error("\(message); retrying") }
            } else if let startedAt, NIODeadline.now() - startedAt < Self.startUpGrace {
                logger.debug("\(message); retrying")
            } else if !failureReported || failures % 50 == 0 {
                failureReported = true
                logger.info("\(message); retrying")
            } else {
                logger.debug("\(message); retrying")
            }
        }
        scheduleRetry()
    }

    /// The directory part of a socket path ("." for a bare name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// How long after start-up failing to connect is expected (the peers are starting too).
    static let startUpGrace: TimeAmount = .seconds(1)

    /// How long a connection must have lasted for its loss to restart the backoff from the start.
    static let establishedAfter: TimeAmount = .seconds(1)

    private func scheduleRetry() {
        guard !stopped else { return }
        let delay = backoff.next()
        eventLoop.scheduleTask(in: delay) { self.attempt() }
    }
}
