import DequeModule
import NIOCore

/// The mapper's logic: pull records from every router (within the credit granted to each),
/// extract items, send each to reducer `partition(key, R)` within that reducer's credit, and
/// route acknowledgements back to the router named in each token.
///
/// Memory is bounded: a router batch is only processed while every reducer's outgoing queue is
/// under its limit, and routers get their credit back only for processed records.
///
/// Order: records are processed in the order they arrive and each reducer gets its items in
/// that order, so a worker whose records all come here (per-key ordering) has every key's items
/// reach their reducer in shard order. When a reducer is lost, the items it had not processed
/// are gone while later ones wait here for it: the mapper *resets* — it drops everything it
/// holds and closes its router connections, so the routers have every affected worker resend
/// its incomplete records, in order, before anything later reaches that reducer.
public struct MapperStateMachine: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var index: UInt32
        public var instance: UInt64
        /// Number of reducers (R); items go to `Partitioner.partition(key, count: R)`.
        public var reducerCount: Int
        public var extractor: Extractor
        /// Items no pattern matches are completed here, not sent to a reducer (`--filter`).
        public var filter = EventFilter()
        /// Credit window granted to each router.
        public var routerWindow = FlowDefaults.routerWindow
        /// Items (and bytes) queued for one reducer beyond which no further record is processed.
        public var reducerQueueLimit = FlowDefaults.reducerQueueLimit
        /// Most items per ITEMS frame.
        public var maximumBatchItems = FlowDefaults.maximumBatchCount
        /// Target bytes per ITEMS frame.
        public var maximumBatchBytes = FlowDefaults.maximumBatchBytes

        public init(index: UInt32, instance: UInt64, reducerCount: Int, extractor: Extractor) {
            self.index = index
            self.instance = instance
            self.reducerCount = reducerCount
            self.extractor = extractor
        }
    }

    public enum Action: Sendable {
        case send(ConnectionID, OutboundFrame)
        /// Send the error (when given) and close the connection.
        case close(ConnectionID, ErrorFrame?)
        case report(Event)
    }

    public enum Event: Hashable, Sendable {
        case routerJoined(index: UInt32)
        case routerLost(index: UInt32, droppedRecords: Int)
        case reducerJoined(index: UInt32)
        case reducerLost(index: UInt32, inFlightItems: Int)
        /// After losing a reducer: the mapper dropped these records and queued items and closed
        /// its router connections (they reconnect), so their workers resend in order.
        case reset(droppedRecords: Int, droppedItems: Int)
        /// A record looked like a KPL aggregate but was not valid; delivered whole.
        case corruptAggregate(shardId: String, sequenceNumber: String, reason: String)
        /// An item could not be keyed; it goes to the reducer flagged with the error.
        case itemError(shardId: String, sequenceNumber: String, reason: String)
        case acksDropped(count: Int, reason: String)
        case refused(ConnectionID, String)
        /// A router or reducer sent an ERROR frame (it closes the connection next).
        case peerError(peer: String, code: UInt16, message: String)
    }

    /// What a connection is, as the I/O layer opened it (mappers connect out).
    public enum Endpoint: Hashable, Sendable {
        case router(index: UInt32)
        case reducer(index: UInt32)
    }

    private struct Router: Sendable {
        var index: UInt32
        var handshake: HandshakeStateMachine
        var credit: CreditWindow
        /// Low 32 bits of the router's HELLO instance, once it answered: worker ids it issued
        /// carry it, so acks for an earlier router process are told apart.
        var incarnation: UInt32? { handshake.peer.map { UInt32(truncatingIfNeeded: $0.instance) } }
    }

    private struct Reducer: Sendable {
        var index: UInt32
        var handshake: HandshakeStateMachine
        var credit = CreditBalance()
        /// Items sent and not yet acknowledged (lost with the connection).
        var inFlight = 0
        var ready: Bool { handshake.isEstablished }
    }

    private struct Input: Sendable {
        var connection: ConnectionID
        var batch: RoutedRecordBatch
    }

    public let configuration: Configuration
    private var routers: [ConnectionID: Router] = [:]
    private var routerByIndex: [UInt16: ConnectionID] = [:]
    private var reducers: [ConnectionID: Reducer] = [:]
    private var reducerConnections: [ConnectionID?]
    private var input: Deque<Input> = []
    /// Items waiting for each reducer, already encoded.
    private var queues: [ItemQueue]
    public private(set) var recordsProcessed = 0
    public private(set) var itemsSent = 0
    /// Items completed without processing because no `--filter` pattern matched them.
    public private(set) var itemsFiltered = 0
    /// Items the mapper could not key (sent to the reducer's error policy).
    public private(set) var itemsInvalid = 0
    /// Records that looked like KPL aggregates but were not valid.
    public private(set) var corruptAggregates = 0
    /// Times the mapper dropped what it held after losing a reducer.
    public private(set) var resets = 0
    /// Whether records or items wait here for reducer credit or queue room.
    public var isWaiting: Bool { !input.isEmpty || queuedItems > 0 }

    public init(configuration: Configuration) {
        precondition(configuration.reducerCount > 0, "a mapper needs at least one reducer")
        self.configuration = configuration
        self.reducerConnections = Array(repeating: nil, count: configuration.reducerCount)
        self.queues = Array(repeating: ItemQueue(), count: configuration.reducerCount)
    }

    public var hello: Hello {
        Hello(role: .mapper, index: configuration.index, instance: configuration.instance, name: "mapper-\(configuration.index)")
    }

    public var connectedRouters: Int { routers.values.filter { $0.incarnation != nil }.count }
    public var connectedReducers: Int { reducers.values.filter(\.ready).count }
    public var queuedItems: Int { queues.reduce(0) { $0 + $1.count } }

    // MARK: Events

    public mutating func connectionOpened(_ id: ConnectionID, to endpoint: Endpoint) -> [Action] {
        switch endpoint {
        case .router(let index):
            routers[id] = Router(
                index: index, handshake: HandshakeStateMachine(policy: .connecting(to: .router, index: index)),
                credit: CreditWindow(window: configuration.routerWindow))
        case .reducer(let index):
            precondition(Int(index) < configuration.reducerCount, "reducer \(index) outside 0..<\(configuration.reducerCount)")
            reducers[id] = Reducer(index: index, handshake: HandshakeStateMachine(policy: .connecting(to: .reducer, index: index)))
        }
        return [.send(id, .hello(hello))]
    }

    public mutating func frameReceived(_ frame: Frame, from id: ConnectionID) -> [Action] {
        var actions: [Action] = []
        if var router = routers[id] {
            guard router.handshake.isEstablished else {
                switch router.handshake.firstFrameReceived(frame) {
                case .refused(let error): return refuse(id, error)
                case .peerRefused(let error): return peerRefused(id, "router \(router.index)", error)
                case .established: routers[id] = router
                }
                routerByIndex[UInt16(truncatingIfNeeded: router.index)] = id
                actions.append(.send(id, .credit(configuration.routerWindow)))
                actions.append(.report(.routerJoined(index: router.index)))
                return actions
            }
            switch frame {
            case .routedRecords(let batch):
                guard batch.router == UInt16(truncatingIfNeeded: router.index) else {
                    return refuse(id, ErrorFrame(code: .protocolViolation, message: "router \(router.index) sent records stamped router \(batch.router)"))
                }
                guard router.credit.receive(count: batch.records.count, bytes: batch.records.byteCount) else {
                    return refuse(id, ErrorFrame(code: .protocolViolation, message: "\(batch.records.count) records exceed the granted credit"))
                }
                routers[id] = router
                input.append(Input(connection: id, batch: batch))
            case .error(let error):
                actions.append(.report(.peerError(peer: "router \(router.index)", code: error.rawCode, message: error.message)))
            case .drain:
                break
            case .hello, .records, .items, .acks, .credit, .peerLost:
                return refuse(id, ErrorFrame(code: .protocolViolation, message: "unexpected \(frame.type) from router \(router.index)"))
            }
        } else if var reducer = reducers[id] {
            guard reducer.handshake.isEstablished else {
                switch reducer.handshake.firstFrameReceived(frame) {
                case .refused(let error): return refuse(id, error)
                case .peerRefused(let error): return peerRefused(id, "reducer \(reducer.index)", error)
                case .established: reducers[id] = reducer
                }
                reducerConnections[Int(reducer.index)] = id
                actions.append(.report(.reducerJoined(index: reducer.index)))
                return actions
            }
            switch frame {
            case .credit(let credit):
                reducer.credit.grant(credit)
                reducers[id] = reducer
            case .acks(let acks):
                reducer.inFlight = max(0, reducer.inFlight - acks.count)
                reducers[id] = reducer
                routeAcks(acks, into: &actions)
            case .error(let error):
                actions.append(.report(.peerError(peer: "reducer \(reducer.index)", code: error.rawCode, message: error.message)))
            case .drain:
                break
            case .hello, .records, .routedRecords, .items, .peerLost:
                return refuse(id, ErrorFrame(code: .protocolViolation, message: "unexpected \(frame.type) from reducer \(reducer.index)"))
            }
        } else {
            return []
        }
        advance(into: &actions)
        return actions
    }

    public mutating func connectionClosed(_ id: ConnectionID) -> [Action] {
        var actions: [Action] = []
        if let router = routers.removeValue(forKey: id) {
            if routerByIndex[UInt16(truncatingIfNeeded: router.index)] == id {
                routerByIndex[UInt16(truncatingIfNeeded: router.index)] = nil
            }
            let dropped = input.filter { $0.connection == id }.reduce(0) { $0 + $1.batch.records.count }
            input.removeAll { $0.connection == id }
            actions.append(.report(.routerLost(index: router.index, droppedRecords: dropped)))
        } else if let reducer = reducers.removeValue(forKey: id) {
            if reducerConnections[Int(reducer.index)] == id { reducerConnections[Int(reducer.index)] = nil }
            if reducer.ready {
                actions.append(.report(.reducerLost(index: reducer.index, inFlightItems: reducer.inFlight)))
                reset(into: &actions)
            }
        }
        advance(into: &actions)
        return actions
    }

    /// Drops every record and item held here and closes the router connections (the I/O layer
    /// reconnects them), so each router has the workers whose records came here resend.
    private mutating func reset(into actions: inout [Action]) {
        resets += 1
        let droppedRecords = input.reduce(0) { $0 + $1.batch.records.count }
        let droppedItems = queuedItems
        input.removeAll()
        for index in queues.indices { queues[index] = ItemQueue() }
        for connection in routers.keys.sorted() { actions.append(.close(connection, nil)) }
        routers.removeAll()
        routerByIndex.removeAll()
        actions.append(.report(.reset(droppedRecords: droppedRecords, droppedItems: droppedItems)))
    }

    // MARK: Work

    /// Processes queued router batches while reducer queues have room, then sends what credit
    /// allows.
    private mutating func advance(into actions: inout [Action]) {
        var scratch: [Extractor.Item] = []
        var flushed: Bool
        repeat {
            while !input.isEmpty, reducerQueuesHaveRoom {
                let next = input.removeFirst()
                process(next, scratch: &scratch, into: &actions)
            }
            let queued = queuedItems
            for reducer in 0..<configuration.reducerCount { flush(reducer: reducer, into: &actions) }
            flushed = queuedItems < queued
        } while flushed && !input.isEmpty && reducerQueuesHaveRoom
        for (connection, var router) in routers {
            let pendingFromRouter = input.contains { $0.connection == connection }
            if let credit = router.credit.takeReturn(drained: !pendingFromRouter) {
                actions.append(.send(connection, .credit(credit)))
                routers[connection] = router
            }
        }
    }

    private var reducerQueuesHaveRoom: Bool {
        for queue in queues
        where queue.count >= Int(configuration.reducerQueueLimit.count)
            || queue.byteCount >= Int(configuration.reducerQueueLimit.bytes) {
            return false
        }
        return true
    }

    private mutating func process(_ next: Input, scratch: inout [Extractor.Item], into actions: inout [Action]) {
        let batch = next.batch
        let shardId = ByteBuffer(string: batch.shardId)
        let stream = ByteBuffer(string: batch.stream)
        var completedHere = AckBatch()
        let filter = configuration.filter
        if configuration.extractor.mode == .record && configuration.extractor.key == .partitionKey && filter.isEmpty {
            // One item per record, keyed by its partition key: each record is copied across as
            // it is, read in place from the batch's bytes.
            batch.records.bytes.withUnsafeReadableBytes { raw in
                shardId.withUnsafeReadableBytes { shard in
                    stream.withUnsafeReadableBytes { stream in
                        var offset = 0
                        for _ in 0..<batch.records.count {
                            let fields = RecordLayout.fields(at: offset, in: raw)
                            let record = UnsafeRawBufferPointer(rebasing: raw[offset..<offset + fields.size])
                            let hasKey = record[RecordLayout.flagsOffset] & RecordLayout.Flag.hasPartitionKey != 0
                            let key = hasKey
                                ? UnsafeRawBufferPointer(rebasing: record[fields.keyAt..<fields.dataLengthAt])
                                : UnsafeRawBufferPointer(rebasing: record[fields.sequenceAt..<fields.keyLengthAt])
                            let reducer = Partitioner.partition(key, count: configuration.reducerCount)
                            let index = UInt64(bigEndian: record.loadUnaligned(fromByteOffset: RecordLayout.indexOffset, as: UInt64.self))
                            let token = Token(router: batch.router, worker: batch.worker, record: index, item: 0, itemCount: 1)
                            queues[reducer].append {
                                WireItem.writeWholeRecord(record, fields: fields, token: token, shardId: shard, stream: stream, to: &$0)
                            }
                            offset += fields.size
                        }
                    }
                }
            }
        } else {
            for record in batch.records {
                scratch.removeAll(keepingCapacity: true)
                if let warning = configuration.extractor.extract(record, into: &scratch) {
                    corruptAggregates += 1
                    actions.append(.report(.corruptAggregate(
                        shardId: batch.shardId, sequenceNumber: String(buffer: record.sequenceNumber), reason: warning)))
                }
                let count = UInt32(scratch.count)
                if count == 0 {
                    completedHere.append(Ack(
                        token: Token(router: batch.router, worker: batch.worker, record: record.index, item: 0, itemCount: 0),
                        status: .ok))
                    continue
                }
                for (position, extracted) in scratch.enumerated() {
                    if extracted.error == nil, !filter.keeps(extracted, of: record, stream: batch.stream, shardId: batch.shardId) {
                        itemsFiltered += 1
                        completedHere.append(Ack(
                            token: Token(router: batch.router, worker: batch.worker, record: record.index, item: UInt32(position), itemCount: count),
                            status: .ok))
                        continue
                    }
                    if let error = extracted.error {
                        itemsInvalid += 1
                        actions.append(.report(.itemError(
                            shardId: batch.shardId, sequenceNumber: String(buffer: record.sequenceNumber), reason: error)))
                    }
                    let reducer = extracted.key.withUnsafeReadableBytes {
                        Partitioner.partition($0, count: configuration.reducerCount)
                    }
                    queues[reducer].append { buffer in
                        WireItem.write(
                            token: Token(router: batch.router, worker: batch.worker, record: record.index,
                                         item: UInt32(position), itemCount: count),
                            subSequenceNumber: record.subSequenceNumber,
                            arrivalTimestamp: record.arrivalTimestamp,
                            shardId: shardId,
                            stream: stream,
                            sequenceNumber: record.sequenceNumber,
                            partitionKey: extracted.partitionKey,
                            key: extracted.key,
                            error: extracted.error,
                            isDynamoDBRecord: extracted.isDynamoDBRecord,
                            data: extracted.data,
                            to: &buffer
                        )
                    }
                }
            }
        }
        recordsProcessed += batch.records.count
        if !completedHere.isEmpty { actions.append(.send(next.connection, .acks(completedHere))) }
        if var router = routers[next.connection] {
            router.credit.release(count: batch.records.count, bytes: batch.records.byteCount)
            routers[next.connection] = router
        }
    }

    private mutating func flush(reducer index: Int, into actions: inout [Action]) {
        guard let connection = reducerConnections[index], var reducer = reducers[connection], reducer.ready else { return }
        while reducer.credit.canSend,
              let (count, chunk) = queues[index].take(
                  maximumItems: reducer.credit.allowedCount(limit: configuration.maximumBatchItems),
                  maximumBytes: min(Int(clamping: reducer.credit.available.bytes), configuration.maximumBatchBytes)) {
            reducer.credit.spend(count: count, bytes: chunk.readableBytes)
            reducer.inFlight += count
            itemsSent += count
            actions.append(.send(connection, .items(count: count, bytes: chunk)))
        }
        reducers[connection] = reducer
    }

    private func routeAcks(_ acks: AckBatch, into actions: inout [Action]) {
        // Runs of one router and one router incarnation are copied in one piece to that
        // router's connection; acks for a router that is gone or restarted are dropped.
        var groups: [(connection: ConnectionID, acks: AckBatch)] = []
        var dropped = 0
        var position = 0
        while position < acks.count {
            let router = acks.router(at: position)
            let incarnation = UInt32(truncatingIfNeeded: acks.worker(at: position) >> 32)
            var end = position + 1
            while end < acks.count, acks.router(at: end) == router,
                  UInt32(truncatingIfNeeded: acks.worker(at: end) >> 32) == incarnation { end += 1 }
            defer { position = end }
            guard let connection = routerByIndex[router], routers[connection]?.incarnation == incarnation else {
                dropped += end - position
                continue
            }
            if let group = groups.firstIndex(where: { $0.connection == connection }) {
                groups[group].acks.append(acks, positions: position..<end)
            } else {
                var batch = AckBatch(minimumCapacity: acks.count)
                batch.append(acks, positions: position..<end)
                groups.append((connection, batch))
            }
        }
        for (connection, list) in groups { actions.append(.send(connection, .acks(list))) }
        if dropped > 0 { actions.append(.report(.acksDropped(count: dropped, reason: "router gone or restarted"))) }
    }

    /// The peer answered the handshake with an ERROR: report it, close.
    private mutating func peerRefused(_ id: ConnectionID, _ peer: String, _ error: ErrorFrame) -> [Action] {
        [.report(.peerError(peer: peer, code: error.rawCode, message: error.message)), .close(id, nil)] + connectionClosed(id)
    }

    private mutating func refuse(_ id: ConnectionID, _ error: ErrorFrame) -> [Action] {
        [.report(.refused(id, error.message)), .close(id, error)] + connectionClosed(id)
    }
}
