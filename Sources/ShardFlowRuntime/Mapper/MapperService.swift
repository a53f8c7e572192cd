import Logging
import NIOCore

/// Runs a ``MapperStateMachine``: keeps a connection to every router and every reducer.
public final class MapperService: ConnectionDelegate, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var routerSockets: [String]
        public var reducerSockets: [String]
        public var transport = TransportConfiguration()
        public var machine: MapperStateMachine.Configuration
        /// Report ready once connected to every router and reducer (the launcher waits for that
        /// before it starts the source), or to every reducer only (under systemd, where the
        /// router starts after the mappers).
        public var readyOnReducersOnly = false
        /// Where the control socket goes (`status`, `metrics`); nil: none.
        public var controlDirectory: String?

        public init(index: UInt32, routerSockets: [String], reducerSockets: [String], extractor: Extractor) {
            self.routerSockets = routerSockets
            self.reducerSockets = reducerSockets
            self.machine = MapperStateMachine.Configuration(
                index: index, instance: UInt64.random(in: .min ... .max),
                reducerCount: reducerSockets.count, extractor: extractor)
        }
    }

    private let configuration: Configuration
    private let eventLoop: EventLoop
    let registry: ConnectionRegistry
    private var machine: MapperStateMachine
    private let logger: Logger
    private var connectors: [Connector] = []
    /// What each connection is, and the connector that made it (which reconnects it).
    private var endpoints: [ConnectionID: MapperStateMachine.Endpoint] = [:]
    private var connectorOf: [ConnectionID: Connector] = [:]
    private var joined: Set<MapperStateMachine.Endpoint> = []
    private var readyPromise: EventLoopPromise<Void>?
    private let rate = RateMeter()
    private var warningsLogged = 0
    private var stopping = false
    private let observability: MapperObservability
    /// Items that could not be keyed since the last summary line, and the last one's reason.
    private var unkeyed = (count: 0, last: "", since: NIODeadline.now())

    public init(configuration: Configuration, eventLoop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.registry = ConnectionRegistry(eventLoop: eventLoop)
        self.machine = MapperStateMachine(configuration: configuration.machine)
        self.logger = logger
        self.observability = MapperObservability(index: configuration.machine.index)
    }

    /// Connects to every router and reducer; completes once each has answered its handshake.
    public func start() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.readyPromise = promise
            let endpoints: [(MapperStateMachine.Endpoint, String, String)] =
                self.configuration.routerSockets.enumerated().map { (.router(index: UInt32($0.offset)), $0.element, "router \($0.offset)") }
                + self.configuration.reducerSockets.enumerated().map { (.reducer(index: UInt32($0.offset)), $0.element, "reducer \($0.offset)") }
            for (endpoint, path, label) in endpoints {
                var connector: Connector!
                connector = Connector(
                    paths: [path], label: label, eventLoop: self.eventLoop, transport: self.configuration.transport,
                    registry: self.registry, delegate: self, logger: self.logger
                ) { connection in
                    self.endpoints[connection.id] = endpoint
                    self.connectorOf[connection.id] = connector
                }
                self.connectors.append(connector)
                connector.start()
            }
            self.logger.info("mapper \(self.configuration.machine.index): \(self.configuration.routerSockets.count) routers, \(self.configuration.reducerSockets.count) reducers, extract=\(self.configuration.machine.extractor.mode.rawValue) key=\(self.configuration.machine.extractor.key)")
            self.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(10), delay: .seconds(10)) { _ in self.summarizeUnkeyed() }
            return self.startControlSocket().flatMap { promise.futureResult }
        }
    }

    /// Stops pulling records and closes every connection. Records already taken are
    /// redelivered by their workers (the routers tell them the mapper left).
    public func drain(reason: String) -> EventLoopFuture<Void> {
        eventLoop.submit {
            self.stopping = true
            for connection in self.registry.connections.values {
                self.registry.send(.drain(Drain(reason: reason)), to: connection.id)
            }
            self.registry.flush()
            for connector in self.connectors { connector.stop() }
        }
    }

    private func startControlSocket() -> EventLoopFuture<Void> {
        guard let directory = configuration.controlDirectory else { return eventLoop.makeSucceededVoidFuture() }
        return ControlServer.start(
            at: "\(directory)/mapper-\(configuration.machine.index).sock", on: eventLoop, transport: configuration.transport, logger: logger
        ) { request in
            self.observability.wait.update(waiting: self.machine.isWaiting, now: self.eventLoop.now)
            switch request {
            case "metrics": return self.observability.exposition(self.machine)
            case "status": return self.observability.status(self.machine)
            default: return "# unknown request \(request): ask status or metrics\n"
            }
        }.map { _ in }
    }

    /// One line for the items that could not be keyed since the last one, instead of a line each.
    private func summarizeUnkeyed() {
        guard unkeyed.count > 0 else { return }
        logger.warning("\(unkeyed.count) more items could not be keyed in the last \(Int(Double((eventLoop.now - unkeyed.since).nanoseconds) / 1e9))s and went to the error policy (last: \(unkeyed.last))")
        unkeyed = (0, "", eventLoop.now)
    }

    /// A one-line status (call on the event loop).
    public var status: String {
        eventLoop.preconditionInEventLoop()
        let rate = Int(self.rate.perSecond(total: machine.itemsSent))
        return "routers=\(machine.connectedRouters)/\(configuration.routerSockets.count) reducers=\(machine.connectedReducers)/\(configuration.reducerSockets.count) records=\(machine.recordsProcessed) items/s=\(rate) queued=\(machine.queuedItems) filtered=\(machine.itemsFiltered)"
    }

    // MARK: ConnectionDelegate

    /// Adopts a channel connected to `endpoint` (how tests connect an `EmbeddedChannel`).
    func attach(_ channel: Channel, as endpoint: MapperStateMachine.Endpoint) throws {
        let connection = try registry.attach(channel, peer: "\(endpoint)", transport: configuration.transport, delegate: self, logger: logger)
        endpoints[connection.id] = endpoint
    }

    func connectionDidBecomeActive(_ connection: Connection) {
        guard let endpoint = endpoints[connection.id] else { return }
        run(machine.connectionOpened(connection.id, to: endpoint))
        registry.flush()
    }

    func connection(_ connection: Connection, didReceive frame: Frame) {
        run(machine.frameReceived(frame, from: connection.id))
    }

    func connectionDidCompleteRead(_ connection: Connection) {
        registry.flush()
    }

    func connectionDidClose(_ connection: Connection) {
        registry.remove(connection.id)
        run(machine.connectionClosed(connection.id))
        registry.flush()
        endpoints[connection.id] = nil
        connectorOf.removeValue(forKey: connection.id)?.connectionClosed(connection)
    }

    // MARK: Actions

    private func run(_ actions: [MapperStateMachine.Action]) {
        defer { observability.wait.update(waiting: machine.isWaiting, now: eventLoop.now) }
        for action in actions {
            switch action {
            case .send(let id, let frame):
                registry.send(frame, to: id)
            case .close(let id, let error):
                registry.close(id, with: error)
            case .report(let event):
                report(event)
            }
        }
    }

    private func report(_ event: MapperStateMachine.Event) {
        switch event {
        case .routerJoined(let index):
            logger.info("connected to router \(index)")
            joinedEndpoint(.router(index: index))
        case .reducerJoined(let index):
            logger.info("connected to reducer \(index)")
            joinedEndpoint(.reducer(index: index))
        case .routerLost(let index, _) where stopping:
            logger.debug("closed the connection to router \(index)")
        case .reset where stopping:
            break
        case .reducerLost(let index, _) where stopping:
            logger.debug("closed the connection to reducer \(index)")
        case .routerLost(let index, let dropped):
            logger.warning("lost router \(index)\(dropped > 0 ? "; \(dropped) unprocessed records dropped (their workers resend)" : "")")
        case .reducerLost(let index, let inFlight):
            logger.warning("lost reducer \(index) with \(inFlight) items in flight")
        case .reset(let records, let items):
            logger.warning("reset after losing a reducer: dropped \(records) records and \(items) queued items and reconnecting to the routers, so their shards resend their incomplete records in order")
        case .corruptAggregate(let shardId, let sequenceNumber, let reason):
            logWarning("shard \(shardId) record \(sequenceNumber): \(reason)")
        case .itemError(let shardId, let sequenceNumber, let reason):
            // The first in each 10 s window in full; the rest in one summary line.
            let message = "shard \(shardId) record \(sequenceNumber): \(reason)"
            if unkeyed.count == 0, unkeyed.last.isEmpty {
                logger.warning("\(message); sent to the reducer's error policy (further ones are summed up every 10s)")
                unkeyed.last = message
            } else {
                unkeyed.count += 1
                unkeyed.last = message
            }
        case .acksDropped(let count, let reason):
            logger.debug("dropped \(count) acknowledgements: \(reason)")
        case .refused(let id, let reason):
            logger.error("closing \(registry[id]?.description ?? "connection \(id)"): \(reason)")
        case .peerError(let peer, let code, let message):
            logger.error("\(peer) refused this mapper (error \(code)): \(message)")
        }
    }

    /// Per-record warnings, rate-limited so a stream of bad records cannot flood the log.
    private func logWarning(_ message: String) {
        warningsLogged += 1
        if warningsLogged <= 100 || warningsLogged % 1000 == 0 {
            logger.warning("\(message)\(warningsLogged == 100 ? " (further warnings: every 1000th)" : "")")
        }
    }

    private func joinedEndpoint(_ endpoint: MapperStateMachine.Endpoint) {
        joined.insert(endpoint)
        let reducers = joined.filter { if case .reducer = $0 { true } else { false } }.count
        let ready = configuration.readyOnReducersOnly
            ? reducers == configuration.reducerSockets.count
            : joined.count == configuration.routerSockets.count + configuration.reducerSockets.count
        if ready, let promise = readyPromise {
            readyPromise = nil
            promise.succeed()
        }
    }
}
