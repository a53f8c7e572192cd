import DequeModule

/// The stage-router's logic: a rendezvous between transient workers and long-lived mappers.
///
/// Workers send records within the credit the router granted them; the router queues them per
/// worker and hands them to mappers within the credit each mapper granted, round-robin over
/// workers so one busy shard cannot starve the others. Which mapper takes a record depends on
/// ``Ordering``. Acknowledgements coming back from mappers are routed to the worker connection
/// named in each token (dropped when that worker is gone).
///
/// When a mapper is lost, the workers whose records it may have held are *fenced*: their queued
/// records are dropped (their credit returned), they are told `PEER_LOST`, and records they
/// sent before reacting to it (an older resend epoch) are dropped on arrival. Each then resends
/// its incomplete records, in order, and they take a new path.
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
        public var ordering = Ordering.perKey
        /// The group's mapper count when known: a mapper outside `0..<count` is refused.
        public var mapperCount: Int?

        public init(index: UInt16, instance: UInt64) {
            self.index = index
            self.instance = instance
        }
    }

    /// How the router picks the mapper for a record (`--ordering`).
    public enum Ordering: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// Every record of a worker goes to one mapper (the least loaded when the worker's first
        /// records arrive; another after that mapper is lost). A mapper sends each reducer its
        /// items in the order it processed their records, so every key's items reach their
        /// reducer in shard order, whatever the key. Different shards spread over the mappers.
        case perKey = "key"
        /// Whichever mapper has credit takes the next batch: the best balance with one shard and
        /// several mappers, but items of one key may overtake each other across mappers.
        case none

        public var description: String {
            switch self {
            case .perKey: "each shard's records to one mapper (per-key order)"
            case .none: "to any mapper with credit (no ordering)"
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
        /// `workers` were fenced (told to resend), dropping `droppedRecords` queued records.
        case mapperLost(index: UInt32, announced: Bool, workers: Int, droppedRecords: Int)
        case acksDropped(count: Int, reason: String)
        case refused(ConnectionID, String)
        /// A mapper sent an ERROR frame (it closes the connection next).
        case peerError(peer: String, code: UInt16, message: String)
    }

    private struct Worker: Sendable {
        var id: UInt64
        var shardId: String
        var stream: String
        /// Batches as the worker sent them, forwarded without re-encoding.
        var queue: Deque<RecordBatch> = []
        var queuedRecords = 0
        var credit: CreditWindow
        /// The mapper connection taking this worker's records (per-key ordering), once chosen.
        var mapper: ConnectionID?
        /// `PEER_LOST` frames sent to the worker: records of an older epoch are dropped.
        var fence: UInt32 = 0
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
    /// Records dropped on arrival because their worker had not yet reacted to a `PEER_LOST`.
    public private(set) var recordsFenced = 0
    /// Records handed to mappers.
    public private(set) var recordsForwarded = 0

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
        peers[id] = .handshaking(HandshakeStateMachine(
            policy: .accepting(own: .router, roles: [.worker: nil, .mapper: configuration.mapperCount])))
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
            case .records(let epoch, let records):
                guard worker.credit.receive(count: records.count, bytes: records.byteCount) else {
                    return refuse(id, ErrorFrame(code: .protocolViolation, message: "\(records.count) records exceed the granted credit"))
                }
                if epoch < worker.fence {
                    // Sent before the worker saw its last PEER_LOST: it resends them, in order.
                    recordsFenced += records.count
                    worker.credit.release(count: records.count, bytes: records.byteCount)
                    if let credit = worker.credit.takeReturn(drained: worker.queuedRecords == 0) {
                        actions.append(.send(id, .credit(credit)))
                    }
                } else if !records.isEmpty {
                    worker.queue.append(records)
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
            case .drain:
                // No new records go to it; its workers stay with it until it closes, so their
                // later records cannot overtake the ones it still holds.
                mapper.draining = true
                peers[id] = .mapper(mapper)
            case .error(let error):
                actions.append(.report(.peerError(peer: "mapper \(mapper.index)", code: error.rawCode, message: error.message)))
            case .hello, .records, .routedRecords, .items, .peerLost:
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
            let lost = PeerLost(role: .mapper, index: mapper.index,
                                reason: "mapper \(mapper.index) disconnected from router \(configuration.index)")
            let (workers, dropped) = fenceWorkers(of: id, lost, into: &actions)
            actions.insert(.report(.mapperLost(index: mapper.index, announced: mapper.draining, workers: workers, droppedRecords: dropped)),
                           at: 0)
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
            let worker = Worker(
                id: workerId, shardId: hello.name, stream: hello.stream, credit: CreditWindow(window: configuration.workerWindow))
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

    private mutating func routeAcks(_ acks: AckBatch, into actions: inout [Action]) {
        // Group by worker keeping first-seen order; a batch names few workers, so a short
        // linear search beats hashing. Runs of one worker are copied in one piece.
        var groups: [(worker: UInt64, acks: AckBatch)] = []
        var foreign = 0
        var position = 0
        while position < acks.count {
            let worker = acks.worker(at: position)
            guard acks.router(at: position) == UInt16(truncatingIfNeeded: configuration.index) else {
                foreign += 1
                position += 1
                continue
            }
            var end = position + 1
            while end < acks.count, acks.worker(at: end) == worker, acks.router(at: end) == acks.router(at: position) { end += 1 }
            if let group = groups.firstIndex(where: { $0.worker == worker }) {
                groups[group].acks.append(acks, positions: position..<end)
            } else {
                var batch = AckBatch(minimumCapacity: acks.count)
                batch.append(acks, positions: position..<end)
                groups.append((worker, batch))
            }
            position = end
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

    /// Fences the workers whose records the lost mapper `connection` may have held (per-key
    /// ordering: those assigned to it; no ordering: every worker): drops their queued records,
    /// returns that credit and tells them to resend. Returns the workers and records affected.
    private mutating func fenceWorkers(of connection: ConnectionID, _ lost: PeerLost, into actions: inout [Action]) -> (Int, Int) {
        var workers = 0
        var dropped = 0
        for workerConnection in workerOrder {
            guard case .worker(var worker) = peers[workerConnection] else { continue }
            switch configuration.ordering {
            case .perKey: guard worker.mapper == connection else { continue }
            case .none: break
            }
            workers += 1
            dropped += worker.queuedRecords
            for batch in worker.queue { worker.credit.release(count: batch.count, bytes: batch.byteCount) }
            worker.queue.removeAll()
            worker.queuedRecords = 0
            worker.mapper = nil
            worker.fence &+= 1
            actions.append(.send(workerConnection, .peerLost(lost)))
            if let credit = worker.credit.takeReturn(drained: true) {
                actions.append(.send(workerConnection, .credit(credit)))
            }
            peers[workerConnection] = .worker(worker)
        }
        return (workers, dropped)
    }

    /// Moves queued records to mappers with credit, round-robin over workers.
    private mutating func advance(into actions: inout [Action]) {
        guard !workerOrder.isEmpty else { return }
        let mappers = peers.keys.filter {
            if case .mapper(let mapper) = peers[$0]!, !mapper.draining { return true }
            return false
        }.sorted()
        var idleRounds = 0
        while idleRounds < workerOrder.count {
            workerCursor %= workerOrder.count
            let workerConnection = workerOrder[workerCursor]
            workerCursor += 1
            guard case .worker(var worker) = peers[workerConnection], !worker.queue.isEmpty,
                  let mapperConnection = mapper(for: &worker, among: mappers)
            else {
                idleRounds += 1
                continue
            }
            idleRounds = 0
            forward(of: &worker, workerConnection, to: mapperConnection, into: &actions)
            peers[workerConnection] = .worker(worker)
        }
    }

    /// The mapper to take the worker's next batch now, if one can.
    private mutating func mapper(for worker: inout Worker, among mappers: [ConnectionID]) -> ConnectionID? {
        switch configuration.ordering {
        case .none:
            return nextMapperWithCredit(mappers)
        case .perKey:
            if worker.mapper == nil { worker.mapper = leastLoadedMapper(mappers) }
            guard let assigned = worker.mapper, case .mapper(let mapper) = peers[assigned], !mapper.draining, mapper.credit.canSend
            else {
                return nil
            }
            return assigned
        }
    }

    /// Per-key ordering: the mapper with the fewest workers; ties go to the mapper whose index
    /// comes first counting from this router's index, so routers spread their first workers.
    private func leastLoadedMapper(_ mappers: [ConnectionID]) -> ConnectionID? {
        guard !mappers.isEmpty else { return nil }
        var load: [ConnectionID: Int] = [:]
        for case .worker(let worker) in peers.values { if let mapper = worker.mapper { load[mapper, default: 0] += 1 } }
        let modulus = UInt32(max(configuration.mapperCount ?? 0, mappers.count, 1))
        return mappers.min { first, second in
            guard case .mapper(let a) = peers[first], case .mapper(let b) = peers[second] else { return false }
            let (loadA, loadB) = (load[first] ?? 0, load[second] ?? 0)
            if loadA != loadB { return loadA < loadB }
            let start = UInt32(configuration.index) % modulus
            return (a.index &+ modulus &- start) % modulus < (b.index &+ modulus &- start) % modulus
        }
    }

    /// Sends the head of the worker's queue as far as the mapper's credit allows, and returns
    /// the worker's credit once a quarter window has left.
    private mutating func forward(
        of worker: inout Worker, _ workerConnection: ConnectionID, to mapperConnection: ConnectionID, into actions: inout [Action]
    ) {
        guard case .mapper(var mapper) = peers[mapperConnection] else { return }
        var chunk = worker.queue.removeFirst()
        let allowed = mapper.credit.allowedCount(limit: configuration.maximumBatchRecords)
        if chunk.count > allowed {
            let (head, rest) = chunk.split(after: allowed)
            worker.queue.prepend(rest)
            chunk = head
        }
        mapper.credit.spend(count: chunk.count, bytes: chunk.byteCount)
        recordsForwarded += chunk.count
        worker.queuedRecords -= chunk.count
        worker.credit.release(count: chunk.count, bytes: chunk.byteCount)
        if let credit = worker.credit.takeReturn(drained: worker.queuedRecords == 0) {
            actions.append(.send(workerConnection, .credit(credit)))
        }
        peers[mapperConnection] = .mapper(mapper)
        actions.append(.send(mapperConnection, .routedRecords(RoutedRecordBatch(
            router: configuration.index, worker: worker.id, shardId: worker.shardId, stream: worker.stream, records: chunk))))
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
