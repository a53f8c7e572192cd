import DequeModule

/// The stage-router's logic: a rendezvous between transient workers and long-lived mappers.
///
/// Workers send records within the credit the router granted them; the router queues them per
/// worker and hands them to mappers within the credit each mapper granted, round-robin over
/// workers so one busy shard cannot starve the others. Which mapper takes a record depends on
/// ``Routing``. Acknowledgements coming back from mappers are routed to the worker connection
/// named in each token (dropped when that worker is gone). When a mapper is lost, every
/// worker is told (`PEER_LOST`) so it resends its incomplete records.
public struct RouterStateMachine: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// The router's `--index`, stamped into every token.
        public var index: UInt16
        /// Random per process start; its low 32 bits prefix worker ids.
        public var instance: UInt64
        /// Credit window granted to each worker: records and bytes queued here for it.
        public var workerWindow = FlowDefaults.workerWindow
        /// Most records per ROUTED_RECORDS frame.
        public var maximumBatchRecords = FlowDefaults.maximumBatchCount
        /// How records are spread over mappers.
        public var routing = Routing.anyMapper
        /// The group's mapper count when known: a mapper outside `0..<count` is refused.
        public var mapperCount: Int?

        public init(index: UInt16, instance: UInt64) {
            self.index = index
            self.instance = instance
        }
    }

    /// How the router picks the mapper for a record.
    public enum Routing: Hashable, Sendable, CustomStringConvertible {
        /// Whichever mapper has credit takes the next batch: the best balance. Items of one key
        /// reach their reducer in order as far as one mapper is concerned; across mappers the
        /// order is approximate (exmld's model).
        case anyMapper
        /// Mapper `Partitioner.partition(partitionKey, mappers)` takes every record (a record
        /// without a key counts as the empty key), so items with the same key keep their shard
        /// order end to end while different keys run in parallel. A mapper that is away holds
        /// back only its own keys' records (within the worker's window); nothing is rerouted.
        case byPartitionKey(mappers: Int)

        public var description: String {
            switch self {
            case .anyMapper: "to any mapper with credit"
            case .byPartitionKey(let mappers): "to mappers by partition key (key-ordered, \(mappers) mappers)"
            }
        }
    }

    public enum Action: Sendable {
        case send(ConnectionID, OutboundFrame)
        /// Send the error (when given) and close the connection.
        case close(ConnectionID, ErrorFrame?)
        case report(Event)
    }

    public enum Event: Hashable, Sendable {
        case workerJoined(shardId: String, worker: UInt64)
        case workerLeft(shardId: String, worker: UInt64, droppedRecords: Int)
        case mapperJoined(index: UInt32)
        /// A mapper's connection closed; `announced` when it said it was draining first.
        case mapperLost(index: UInt32, announced: Bool)
        case acksDropped(count: Int, reason: String)
        case refused(ConnectionID, String)
        /// A mapper sent an ERROR frame (it closes the connection next).
        case peerError(peer: String, code: UInt16, message: String)
    }

    private struct Worker: Sendable {
        var id: UInt64
        var shardId: String
        /// Batches as the worker sent them, forwarded without re-encoding (any-mapper routing).
        var queue: Deque<RecordBatch> = []
        /// Key-ordered routing: the worker's records per mapper index, in arrival order.
        var byMapper: [Deque<RecordBatch>] = []
        var queuedRecords = 0
        var credit: CreditWindow
    }

    private struct Mapper: Sendable {
        var index: UInt32
        var credit = CreditBalance()
        var draining = false
    }

    private enum Peer: Sendable {
        case handshaking(HandshakeStateMachine)
        case worker(Worker)
        case mapper(Mapper)
    }

    public let configuration: Configuration
    private var peers: [ConnectionID: Peer] = [:]
    private var workerConnections: [UInt64: ConnectionID] = [:]
    private var nextWorkerSerial: UInt32 = 0
    /// Round-robin cursors.
    private var workerOrder: [ConnectionID] = []
    private var workerCursor = 0
    private var mapperCursor = 0
    private var draining = false

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The router's own handshake.
    public var hello: Hello {
        Hello(role: .router, index: UInt32(configuration.index), instance: configuration.instance,
              name: "router-\(configuration.index)")
    }

    /// Counts for status lines.
    public var workerCount: Int { workerConnections.count }
    public var mapperCount: Int { peers.values.reduce(0) { if case .mapper = $1 { $0 + 1 } else { $0 } } }
    public var queuedRecords: Int {
        peers.values.reduce(0) { if case .worker(let worker) = $1 { $0 + worker.queuedRecords } else { $0 } }
    }

    // MARK: Events

    public mutating func connectionOpened(_ id: ConnectionID) -> [Action] {
        var mappers = configuration.mapperCount
        if case .byPartitionKey(let count) = configuration.routing { mappers = count }
        peers[id] = .handshaking(HandshakeStateMachine(policy: .accepting(own: .router, roles: [.worker: nil, .mapper: mappers])))
        return [.send(id, .hello(hello))]
    }

    public mutating func frameReceived(_ frame: Frame, from id: ConnectionID) -> [Action] {
        guard let peer = peers[id] else { return [] }
        var actions: [Action] = []
        switch peer {
        case .handshaking(var handshake):
            switch handshake.firstFrameReceived(frame) {
            case .refused(let error):
                return refuse(id, error)
            case .peerRefused(let error):
                return [.report(.peerError(peer: "connection \(id)", code: error.rawCode, message: error.message)), .close(id, nil)]
                    + connectionClosed(id)
            case .established(let hello):
                guard accept(hello, on: id, into: &actions) else { return actions }
            }
        case .worker(var worker):
            switch frame {
            case .records(let records):
                guard worker.credit.receive(count: records.count, bytes: records.byteCount) else {
                    return refuse(id, ErrorFrame(code: .protocolViolation, message: "\(records.count) records exceed the granted credit"))
                }
                if !records.isEmpty {
                    if case .byPartitionKey(let mappers) = configuration.routing {
                        let parts = records.partitioned(into: mappers) { record in
                            guard let key = record.partitionKey else { return Partitioner.partition(EmptyCollection<UInt8>(), count: mappers) }
                            return Partitioner.partition(key.readableBytesView, count: mappers)
                        }
                        for (mapper, part) in parts.enumerated() where !part.isEmpty { worker.byMapper[mapper].append(part) }
                    } else {
                        worker.queue.append(records)
                    }
                    worker.queuedRecords += records.count
                }
                peers[id] = .worker(worker)
            case .hello, .routedRecords, .items, .acks, .credit, .peerLost, .drain, .error:
                return refuse(id, ErrorFrame(code: .protocolViolation, message: "unexpected \(frame.type) from a worker"))
            }
        case .mapper(var mapper):
            switch frame {
            case .credit(let credit):
                mapper.credit.grant(credit)
                peers[id] = .mapper(mapper)
            case .acks(let acks):
                routeAcks(acks, into: &actions)
            case .peerLost(let lost):
                broadcastPeerLost(lost, into: &actions)
            case .drain:
                mapper.draining = true
                peers[id] = .mapper(mapper)
            case .error(let error):
                actions.append(.report(.peerError(peer: "mapper \(mapper.index)", code: error.rawCode, message: error.message)))
            case .hello, .records, .routedRecords, .items:
                return refuse(id, ErrorFrame(code: .protocolViolation, message: "unexpected \(frame.type) from a mapper"))
            }
        }
        advance(into: &actions)
        return actions
    }

    public mutating func connectionClosed(_ id: ConnectionID) -> [Action] {
        guard let peer = peers.removeValue(forKey: id) else { return [] }
        var actions: [Action] = []
        switch peer {
        case .handshaking:
            break
        case .worker(let worker):
            workerConnections[worker.id] = nil
            workerOrder.removeAll { $0 == id }
            actions.append(.report(.workerLeft(shardId: worker.shardId, worker: worker.id, droppedRecords: worker.queuedRecords)))
        case .mapper(let mapper):
            actions.append(.report(.mapperLost(index: mapper.index, announced: mapper.draining)))
            broadcastPeerLost(PeerLost(role: .mapper, index: mapper.index, reason: "mapper \(mapper.index) disconnected from router \(configuration.index)"), into: &actions)
        }
        advance(into: &actions)
        return actions
    }

    /// Graceful shutdown: refuse new workers, tell connected ones to stop sending.
    public mutating func drain(reason: String) -> [Action] {
        draining = true
        return workerOrder.map { .send($0, .drain(Drain(reason: reason))) }
    }

    // MARK: Handshake

    /// Admits a peer whose HELLO the handshake accepted; false (with the refusal in `actions`)
    /// when this router's own rules refuse it.
    private mutating func accept(_ hello: Hello, on id: ConnectionID, into actions: inout [Action]) -> Bool {
        switch hello.role {
        case .worker:
            guard !draining else {
                actions = refuse(id, ErrorFrame(code: .shuttingDown, message: "router is draining"))
                return false
            }
            nextWorkerSerial &+= 1
            let workerId = UInt64(UInt32(truncatingIfNeeded: configuration.instance)) << 32 | UInt64(nextWorkerSerial)
            var worker = Worker(id: workerId, shardId: hello.name, credit: CreditWindow(window: configuration.workerWindow))
            if case .byPartitionKey(let mappers) = configuration.routing {
                worker.byMapper = Array(repeating: [], count: mappers)
            }
            peers[id] = .worker(worker)
            workerConnections[workerId] = id
            workerOrder.append(id)
            actions.append(.send(id, .credit(configuration.workerWindow)))
            actions.append(.report(.workerJoined(shardId: hello.name, worker: workerId)))
        case .mapper:
            let taken = peers.values.contains { if case .mapper(let mapper) = $0 { mapper.index == hello.index } else { false } }
            guard !taken else {
                actions = refuse(id, ErrorFrame(
                    code: .roleRejected, message: "mapper \(hello.index) is already connected; a second mapper with the same index is refused"))
                return false
            }
            peers[id] = .mapper(Mapper(index: hello.index))
            actions.append(.report(.mapperJoined(index: hello.index)))
        case .router, .reducer:
            preconditionFailure("the handshake policy admits workers and mappers only")
        }
        return true
    }

    // MARK: Routing

    private mutating func routeAcks(_ acks: [Ack], into actions: inout [Action]) {
        // Group by worker keeping first-seen order; a batch names few workers, so a short
        // linear search beats hashing every ack.
        var groups: [(worker: UInt64, acks: [Ack])] = []
        var foreign = 0
        for ack in acks {
            guard ack.token.router == configuration.index else {
                foreign += 1
                continue
            }
            if let position = groups.firstIndex(where: { $0.worker == ack.token.worker }) {
                groups[position].acks.append(ack)
            } else {
                groups.append((ack.token.worker, [ack]))
            }
        }
        if foreign > 0 { actions.append(.report(.acksDropped(count: foreign, reason: "token names another router"))) }
        var gone = 0
        for (worker, list) in groups {
            guard let connection = workerConnections[worker] else {
                gone += list.count
                continue
            }
            actions.append(.send(connection, .acks(list)))
        }
        if gone > 0 { actions.append(.report(.acksDropped(count: gone, reason: "worker gone"))) }
    }

    private func broadcastPeerLost(_ lost: PeerLost, into actions: inout [Action]) {
        for connection in workerOrder { actions.append(.send(connection, .peerLost(lost))) }
    }

    /// Moves queued records to mappers with credit, round-robin over workers.
    private mutating func advance(into actions: inout [Action]) {
        guard !workerOrder.isEmpty else { return }
        if case .byPartitionKey = configuration.routing { return advanceByKey(into: &actions) }
        let mappers = peers.keys.filter {
            if case .mapper(let mapper) = peers[$0]!, !mapper.draining { return true }
            return false
        }.sorted()
        guard !mappers.isEmpty else { return }
        var idleRounds = 0
        while idleRounds < workerOrder.count {
            workerCursor %= workerOrder.count
            let workerConnection = workerOrder[workerCursor]
            workerCursor += 1
            guard case .worker(var worker) = peers[workerConnection], !worker.queue.isEmpty else {
                idleRounds += 1
                continue
            }
            guard let mapperConnection = nextMapperWithCredit(mappers) else { return }
            idleRounds = 0
            forward(lane: nil, of: &worker, workerConnection, to: mapperConnection, into: &actions)
            peers[workerConnection] = .worker(worker)
        }
    }

    /// Key-ordered routing: each worker's records for mapper `m` go to the connected mapper with
    /// index `m`, in order; one chunk per worker and mapper per round, so shards share fairly.
    private mutating func advanceByKey(into actions: inout [Action]) {
        var connectionOfIndex: [UInt32: ConnectionID] = [:]
        for (id, peer) in peers {
            // A restarted mapper may briefly overlap its old connection: the lowest id wins.
            if case .mapper(let mapper) = peer, !mapper.draining, connectionOfIndex[mapper.index].map({ id < $0 }) ?? true {
                connectionOfIndex[mapper.index] = id
            }
        }
        guard !connectionOfIndex.isEmpty else { return }
        var moved = true
        while moved {
            moved = false
            for workerConnection in workerOrder {
                guard case .worker(var worker) = peers[workerConnection], worker.queuedRecords > 0 else { continue }
                for index in worker.byMapper.indices where !worker.byMapper[index].isEmpty {
                    guard let mapperConnection = connectionOfIndex[UInt32(index)],
                          case .mapper(let mapper) = peers[mapperConnection], mapper.credit.canSend
                    else { continue }
                    forward(lane: index, of: &worker, workerConnection, to: mapperConnection, into: &actions)
                    moved = true
                }
                peers[workerConnection] = .worker(worker)
            }
        }
    }

    /// Sends the head of one of the worker's queues — `lane` nil: its queue; `m`: its records
    /// for mapper `m` — as far as the mapper's credit allows, and returns the worker's credit
    /// once a quarter window has left.
    private mutating func forward(
        lane: Int?, of worker: inout Worker, _ workerConnection: ConnectionID,
        to mapperConnection: ConnectionID, into actions: inout [Action]
    ) {
        guard case .mapper(var mapper) = peers[mapperConnection] else { return }
        var chunk = lane.map { worker.byMapper[$0].removeFirst() } ?? worker.queue.removeFirst()
        let allowed = mapper.credit.allowedCount(limit: configuration.maximumBatchRecords)
        if chunk.count > allowed {
            let (head, rest) = chunk.split(after: allowed)
            if let lane { worker.byMapper[lane].prepend(rest) } else { worker.queue.prepend(rest) }
            chunk = head
        }
        mapper.credit.spend(count: chunk.count, bytes: chunk.byteCount)
        worker.queuedRecords -= chunk.count
        worker.credit.release(count: chunk.count, bytes: chunk.byteCount)
        if let credit = worker.credit.takeReturn(drained: worker.queuedRecords == 0) {
            actions.append(.send(workerConnection, .credit(credit)))
        }
        peers[mapperConnection] = .mapper(mapper)
        actions.append(.send(mapperConnection, .routedRecords(RoutedRecordBatch(
            router: configuration.index, worker: worker.id, shardId: worker.shardId, records: chunk))))
    }

    private mutating func nextMapperWithCredit(_ mappers: [ConnectionID]) -> ConnectionID? {
        for offset in 0..<mappers.count {
            let candidate = mappers[(mapperCursor + offset) % mappers.count]
            if case .mapper(let mapper) = peers[candidate], mapper.credit.canSend {
                mapperCursor = (mapperCursor + offset + 1) % mappers.count
                return candidate
            }
        }
        return nil
    }

    private mutating func refuse(_ id: ConnectionID, _ error: ErrorFrame) -> [Action] {
        [.report(.refused(id, error.message)), .close(id, error)] + connectionClosed(id)
    }
}
