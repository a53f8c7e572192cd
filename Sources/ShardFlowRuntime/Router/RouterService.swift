import Logging
import NIOCore

/// Runs a ``RouterStateMachine`` over a listening socket.
public final class RouterService: ConnectionDelegate, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var index: UInt16
        public var listen: ListenAddress
        public var transport = TransportConfiguration()
        public var workerWindow = FlowDefaults.workerWindow
        /// How records are spread over mappers (`--ordering`).
        public var ordering = RouterStateMachine.Ordering.perKey
        /// The group's mapper count when known (`--mappers`).
        public var mapperCount: Int?
        /// Where the control socket goes (`status`, `metrics`); nil: none.
        public var controlDirectory: String?

        public init(index: UInt16, listen: ListenAddress) {
            self.index = index
            self.listen = listen
        }
    }

    private let configuration: Configuration
    private let eventLoop: EventLoop
    let registry: ConnectionRegistry
    private var machine: RouterStateMachine
    private let logger: Logger
    private var listener: Channel?
    private var drainPromise: EventLoopPromise<Void>?
    private let rate = RateMeter()
    private var recordsRouted = 0
    private let observability: RouterObservability

    public init(configuration: Configuration, eventLoop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.registry = ConnectionRegistry(eventLoop: eventLoop)
        var machineConfiguration = RouterStateMachine.Configuration(index: configuration.index, instance: UInt64.random(in: .min ... .max))
        machineConfiguration.workerWindow = configuration.workerWindow
        machineConfiguration.ordering = configuration.ordering
        machineConfiguration.mapperCount = configuration.mapperCount
        self.machine = RouterStateMachine(configuration: machineConfiguration)
        self.logger = logger
        self.observability = RouterObservability(index: configuration.index)
    }

    /// Binds (or adopts) the listening socket.
    public func start() -> EventLoopFuture<Void> {
        UnixListener.start(
            at: configuration.listen, on: eventLoop, transport: configuration.transport,
            registry: registry, delegate: self, logger: logger
        ).flatMap { channel in
            self.listener = channel
            self.logger.info("router \(self.configuration.index) listening on \(self.configuration.listen); records go \(self.configuration.ordering)")
            return self.startControlSocket()
        }
    }

    private func startControlSocket() -> EventLoopFuture<Void> {
        guard let directory = configuration.controlDirectory else { return eventLoop.makeSucceededVoidFuture() }
        return ControlServer.start(
            at: "\(directory)/router-\(configuration.index).sock", on: eventLoop, transport: configuration.transport, logger: logger
        ) { request in
            self.observability.wait.update(waiting: self.machine.queuedRecords > 0, now: self.eventLoop.now)
            switch request {
            case "metrics": return self.observability.exposition(self.machine)
            case "status": return self.observability.status(self.machine)
            default: return "# unknown request \(request): ask status or metrics\n"
            }
        }.map { _ in }
    }

    /// Stops accepting, tells workers to stop sending, and completes once no worker is left
    /// (the launcher drains workers first, so this is usually at once).
    public func drain(reason: String) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.listener?.close(promise: nil)
            self.run(self.machine.drain(reason: reason))
            self.registry.flush()
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.drainPromise = promise
            self.completeDrainIfIdle()
            return promise.futureResult
        }
    }

    /// A one-line status (call on the event loop).
    public var status: String {
        eventLoop.preconditionInEventLoop()
        let rate = Int(self.rate.perSecond(total: recordsRouted))
        return "workers=\(machine.workerCount) mappers=\(machine.mapperCount) queued=\(machine.queuedRecords) records/s=\(rate)"
    }

    // MARK: ConnectionDelegate

    /// Adopts an accepted channel (how tests connect an `EmbeddedChannel`).
    func attach(_ channel: Channel) throws {
        try registry.attach(channel, peer: "peer", transport: configuration.transport, delegate: self, logger: logger)
    }

    func connectionDidBecomeActive(_ connection: Connection) {
        run(machine.connectionOpened(connection.id))
    }

    func connection(_ connection: Connection, didReceive frame: Frame) {
        if case .hello(let hello) = frame { connection.peer = "\(hello.role) \(hello.role == .worker ? hello.name : String(hello.index))" }
        run(machine.frameReceived(frame, from: connection.id))
    }

    func connectionDidCompleteRead(_ connection: Connection) {
        registry.flush()
    }

    func connectionDidClose(_ connection: Connection) {
        registry.remove(connection.id)
        run(machine.connectionClosed(connection.id))
        registry.flush()
        completeDrainIfIdle()
    }

    // MARK: Actions

    private func run(_ actions: [RouterStateMachine.Action]) {
        defer { observability.wait.update(waiting: machine.queuedRecords > 0, now: eventLoop.now) }
        for action in actions {
            switch action {
            case .send(let id, let frame):
                if case .routedRecords(let batch) = frame { recordsRouted += batch.records.count }
                registry.send(frame, to: id)
            case .close(let id, let error):
                registry.close(id, with: error)
            case .report(let event):
                report(event)
            }
        }
    }

    private func report(_ event: RouterStateMachine.Event) {
        switch event {
        case .workerJoined(let shardId, let worker):
            logger.info("worker for \(shardId) joined", metadata: ["shard.id": "\(shardId)", "worker.id": "\(String(worker, radix: 16))"])
        case .workerLeft(let shardId, let worker, let dropped):
            logger.info("worker for \(shardId) left\(dropped > 0 ? "; \(dropped) queued records dropped (the worker resends them)" : "")",
                        metadata: ["shard.id": "\(shardId)", "worker.id": "\(String(worker, radix: 16))"])
        case .mapperJoined(let index):
            logger.info("mapper \(index) joined")
        case .mapperLost(let index, let announced, let workers, let dropped):
            let resend = workers == 0 ? "no worker had records there"
                : "\(workers) worker\(workers == 1 ? "" : "s") told to resend their incomplete records"
                    + (dropped > 0 ? " (\(dropped) queued here dropped)" : "")
            if announced {
                logger.info("mapper \(index) left (draining); \(resend)")
            } else {
                logger.warning("mapper \(index) lost; \(resend)")
            }
        case .acksDropped(let count, let reason):
            logger.debug("dropped \(count) acknowledgements: \(reason)")
        case .refused(let id, let reason):
            logger.warning("refused \(registry[id]?.description ?? "connection \(id)"): \(reason)")
        case .peerError(let peer, let code, let message):
            logger.error("\(peer) sent error \(code): \(message)")
        }
    }

    private func completeDrainIfIdle() {
        guard let promise = drainPromise, machine.workerCount == 0 else { return }
        drainPromise = nil
        promise.succeed()
    }
}
