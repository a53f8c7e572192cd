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
    private var backoff = Backoff(initial: .milliseconds(20), maximum: .seconds(2))
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
        eventLoop.execute { self.attempt() }
    }

    func stop() {
        stopped = true
        current?.close(with: nil)
    }

    /// Called by the service when this connector's connection closed.
    func connectionClosed(_ connection: Connection) {
        guard current === connection else { return }
        current = nil
        if let connectedAt, NIODeadline.now() - connectedAt >= Self.establishedAfter { backoff.reset() }
        connectedAt = nil
        pathIndex = (pathIndex + 1) % paths.count
        scheduleRetry()
    }

    private func attempt() {
        guard !stopped else { return }
        let transport = self.transport
        ClientBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: 1024 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
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
                    if self.failures > 0 { self.logger.info("connected to \(self.label) at \(self.path) after \(self.failures) failed attempts") }
                    self.failures = 0
                    self.connectedAt = .now()
                case .failure(let error):
                    self.failures += 1
                    self.pathIndex = (self.pathIndex + 1) % self.paths.count
                    if let current = self.current, current.channel.isActive == false { self.registry.remove(current.id) }
                    self.current = nil
                    let message = "cannot connect to \(self.label) at \(self.paths[(self.pathIndex + self.paths.count - 1) % self.paths.count]): \(error)"
                    if self.failures == 1 || self.failures % 50 == 0 {
                        self.logger.info("\(message); retrying")
                    } else {
                        self.logger.debug("\(message); retrying")
                    }
                    self.scheduleRetry()
                }
            }
    }

    /// How long a connection must have lasted for its loss to restart the backoff from the start.
    static let establishedAfter: TimeAmount = .seconds(1)

    private func scheduleRetry() {
        guard !stopped else { return }
        let delay = backoff.next()
        eventLoop.scheduleTask(in: delay) { self.attempt() }
    }
}
