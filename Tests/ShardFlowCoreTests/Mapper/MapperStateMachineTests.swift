import NIOCore
import Testing

@testable import ShardFlowCore

@Suite("Mapper state machine")
struct MapperStateMachineTests {
    typealias Action = MapperStateMachine.Action
    static let routerInstance: UInt64 = 0xAAAA_BBBB_0000_0001
    /// A worker id from router 0: its high 32 bits are the router's incarnation (the low 32 bits
    /// of the router's instance).
    static let worker: UInt64 = (routerInstance & 0xFFFF_FFFF) << 32 | 5

    /// Router 0 on connection 1; reducers 0 and 1 on connections 10 and 11, handshakes done.
    static func connected(_ configure: (inout MapperStateMachine.Configuration) -> Void = { _ in }) -> MapperStateMachine {
        var configuration = MapperStateMachine.Configuration(index: 0, instance: 1, reducerCount: 2, extractor: Extractor())
        configure(&configuration)
        var mapper = MapperStateMachine(configuration: configuration)
        _ = mapper.connectionOpened(1, to: .router(index: 0))
        _ = mapper.frameReceived(.hello(Hello(role: .router, index: 0, instance: routerInstance, name: "router-0")), from: 1)
        for (connection, index) in [(ConnectionID(10), UInt32(0)), (11, 1)] {
            _ = mapper.connectionOpened(connection, to: .reducer(index: index))
            _ = mapper.frameReceived(.hello(Hello(role: .reducer, index: index, instance: 2, name: "reducer")), from: connection)
        }
        return mapper
    }

    static func records(_ keys: [String], data: (Int) -> [UInt8] = { Array("data \($0)".utf8) }) -> RecordBatch {
        RecordBatch(keys.enumerated().map {
            WireRecord(index: UInt64($0.offset), subSequenceNumber: 0, arrivalTimestamp: 9, sequenceNumber: ByteBuffer(string: "10\($0.offset)"),
                       partitionKey: ByteBuffer(string: $0.element), data: ByteBuffer(bytes: data($0.offset)))
        })
    }

    static func batch(_ keys: [String], data: (Int) -> [UInt8] = { Array("data \($0)".utf8) }) -> Frame {
        .routedRecords(RoutedRecordBatch(router: 0, worker: worker, shardId: "shard-A", records: records(keys, data: data)))
    }

    /// Items sent per reducer connection, decoded.
    static func items(_ actions: [Action]) -> [ConnectionID: [WireItem]] {
        var result: [ConnectionID: [WireItem]] = [:]
        for case .send(let id, .items(let count, let bytes)) in actions {
            var encoder = FrameEncoder()
            encoder.beginItems()
            encoder.appendEncodedItems(bytes, count: count)
            encoder.endBatch()
            var buffer = encoder.take()
            guard case .items(let decoded)? = try? FrameDecoder().decode(&buffer) else { continue }
            result[id, default: []] += decoded
        }
        return result
    }

    @Test("the router gets a credit window after its HELLO; a wrong HELLO is refused")
    func handshakes() {
        var mapper = MapperStateMachine(configuration: .init(index: 0, instance: 1, reducerCount: 1, extractor: Extractor()))
        #expect(mapper.connectionOpened(1, to: .router(index: 0)) == [.send(1, .hello(mapper.hello))])
        let joined = mapper.frameReceived(.hello(Hello(role: .router, index: 0, instance: 5, name: "r")), from: 1)
        #expect(joined.first == .send(1, .credit(mapper.configuration.routerWindow)))
        _ = mapper.connectionOpened(2, to: .reducer(index: 0))
        let wrong = mapper.frameReceived(.hello(Hello(role: .reducer, index: 3, instance: 5, name: "r")), from: 2)
        #expect(wrong.contains { if case .close(2, _) = $0 { true } else { false } })
    }

    @Test("items go to reducer partition(key, R) within its credit; tokens name router, worker, record")
    func partitioning() {
        var mapper = Self.connected()
        let keys = (0..<20).map { "key-\($0)" }
        _ = mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 10)
        let actions = mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 11)
            + mapper.frameReceived(Self.batch(keys), from: 1)
        let sent = Self.items(actions)
        #expect(sent.values.reduce(0) { $0 + $1.count } == 20)
        for (connection, items) in sent {
            for item in items {
                #expect(Partitioner.partition(item.key.readableBytesView, count: 2) == Int(connection - 10))
                #expect(item.token.router == 0 && item.token.worker == Self.worker && item.token.itemCount == 1)
                #expect(String(buffer: item.shardId) == "shard-A")
                #expect(String(buffer: item.data) == "data \(item.token.record)")
            }
        }
        #expect(actions.contains(.send(1, .credit(Credit(count: 20, bytes: UInt64(Self.records(keys).byteCount))))), "credit back for processed records")
    }

    @Test("without reducer credit, items wait; credit releases them")
    func waitsForCredit() {
        var mapper = Self.connected()
        let before = mapper.frameReceived(Self.batch(["a", "b", "c", "d"]), from: 1)
        #expect(Self.items(before).isEmpty)
        #expect(mapper.queuedItems == 4)
        let after = mapper.frameReceived(.credit(Credit(count: 10, bytes: 1 << 20)), from: 10)
            + mapper.frameReceived(.credit(Credit(count: 1, bytes: 1 << 20)), from: 11)
        let sent = Self.items(after).values.reduce(0) { $0 + $1.count }
        #expect(sent == 4 - mapper.queuedItems)
        #expect(mapper.queuedItems <= 3)
    }

    @Test("an ERROR from a router or a reducer is reported with its code and message")
    func peerErrors() {
        var mapper = Self.connected()
        let fromRouter = mapper.frameReceived(.error(ErrorFrame(code: .roleRejected, message: "mapper 1 is outside")), from: 1)
        #expect(fromRouter.contains(.report(.peerError(peer: "router 0", code: ErrorFrame.Code.roleRejected.rawValue, message: "mapper 1 is outside"))))
        let fromReducer = mapper.frameReceived(.error(ErrorFrame(code: .shuttingDown, message: "draining")), from: 11)
        #expect(fromReducer.contains(.report(.peerError(peer: "reducer 1", code: ErrorFrame.Code.shuttingDown.rawValue, message: "draining"))))
    }

    @Test("a record that yields no item is acknowledged complete at once")
    func zeroItems() {
        var mapper = Self.connected { $0.extractor = Extractor(mode: .lines) }
        let actions = mapper.frameReceived(Self.batch(["a"], data: { _ in Array("\n\n".utf8) }), from: 1)
        #expect(actions.contains(.send(1, .acks([Ack(token: Token(router: 0, worker: Self.worker, record: 0, item: 0, itemCount: 0), status: .ok)]))))
    }

    @Test("acks go to the router in their token; acks from before a router restart are dropped")
    func ackRouting() {
        var mapper = Self.connected()
        let ack = Ack(token: Token(router: 0, worker: Self.worker, record: 3, item: 0, itemCount: 1), status: .ok)
        #expect(mapper.frameReceived(.acks([ack]), from: 10).contains(.send(1, .acks([ack]))))
        var older = ack
        older.token.worker = 0x1111_2222 << 32 | 5  // another incarnation of router 0
        #expect(mapper.frameReceived(.acks([older]), from: 10) == [.report(.acksDropped(count: 1, reason: "router gone or restarted"))])
    }

    @Test("a lost reducer is announced to every router; its queued items wait for it to return")
    func reducerLost() {
        var mapper = Self.connected()
        _ = mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 10)
        let lost = mapper.connectionClosed(11)
        #expect(lost.contains { if case .send(1, .peerLost(let peer)) = $0 { peer.role == .reducer && peer.index == 1 } else { false } })
        _ = mapper.frameReceived(Self.batch((0..<10).map { "k\($0)" }), from: 1)
        let waiting = mapper.queuedItems
        #expect(waiting > 0)
        _ = mapper.connectionOpened(12, to: .reducer(index: 1))
        _ = mapper.frameReceived(.hello(Hello(role: .reducer, index: 1, instance: 3, name: "r")), from: 12)
        let resumed = mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 12)
        #expect(Self.items(resumed)[12]?.count == waiting)
    }

    @Test("records are only taken while reducer queues have room (bounded memory)")
    func boundedQueues() {
        var mapper = Self.connected { $0.reducerQueueLimit = Credit(count: 3, bytes: 1 << 20) }
        let actions = mapper.frameReceived(Self.batch((0..<10).map { "k\($0)" }), from: 1)
            + mapper.frameReceived(Self.batch((0..<10).map { "m\($0)" }), from: 1)
        let returned = actions.compactMap { if case .send(1, .credit(let credit)) = $0 { credit.count } else { nil } }.reduce(0, +)
        #expect(returned == 10, "the second batch waits: no credit back for it yet")
        let drained = mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 10)
            + mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 11)
        #expect(drained.contains(.send(1, .credit(Credit(count: 10, bytes: UInt64(Self.records((0..<10).map { "m\($0)" }).byteCount))))),
                "once the reducers took their items, the second batch is processed and its credit returned")
        #expect(mapper.queuedItems == 0)
    }
}
