import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

/// Transcripts of the mapper: frames in, exact actions out.
@Suite("Mapper state machine")
struct MapperStateMachineTests {
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
        _ = mapper.frameReceived(.hello(TestFrames.hello(.router, 0, instance: routerInstance)), from: 1)
        for (connection, index) in [(ConnectionID(10), UInt32(0)), (11, 1)] {
            _ = mapper.connectionOpened(connection, to: .reducer(index: index))
            _ = mapper.frameReceived(.hello(TestFrames.hello(.reducer, index)), from: connection)
        }
        return mapper
    }

    /// Records 0… keyed by `keys`, with data `data <i>`.
    static func records(_ keys: [String], data: (Int) -> String = { "data \($0)" }) -> RecordBatch {
        RecordBatch(keys.enumerated().map { TestFrames.record(UInt64($0.offset), key: $0.element, data: data($0.offset)) })
    }

    static func batch(_ keys: [String], data: (Int) -> String = { "data \($0)" }) -> Frame {
        .routedRecords(RoutedRecordBatch(router: 0, worker: worker, shardId: "shard-A", records: records(keys, data: data)))
    }

    /// The ITEMS frame a mapper sends for these records of `batch(keys)`, built field by field.
    static func items(_ keys: [String], _ positions: [Int], data: (Int) -> String = { "data \($0)" }) -> OutboundFrame {
        let items = positions.map { position in
            WireItem(
                token: Token(router: 0, worker: worker, record: UInt64(position), item: 0, itemCount: 1),
                subSequenceNumber: 0, arrivalTimestamp: nil, shardId: ByteBuffer(string: "shard-A"),
                sequenceNumber: ByteBuffer(string: "\(position + 1000)"), partitionKey: ByteBuffer(string: keys[position]),
                key: ByteBuffer(string: keys[position]), data: ByteBuffer(string: data(position)))
        }
        return .items(count: items.count, bytes: TestFrames.itemBytes(items))
    }

    static func reducer(of key: String) -> Int { Partitioner.partition(Array(key.utf8), count: 2) }

    @Test("HELLO both ways: the router gets a credit window; a reducer with another index is refused")
    func handshakes() {
        var mapper = MapperStateMachine(configuration: .init(index: 0, instance: 1, reducerCount: 1, extractor: Extractor()))
        #expect(mapper.connectionOpened(1, to: .router(index: 0)) == [.send(1, .hello(mapper.hello))])
        #expect(mapper.frameReceived(.hello(TestFrames.hello(.router, 0)), from: 1) == [
            .send(1, .credit(mapper.configuration.routerWindow)), .report(.routerJoined(index: 0)),
        ])
        #expect(mapper.connectionOpened(2, to: .reducer(index: 0)) == [.send(2, .hello(mapper.hello))])
        let error = ErrorFrame(code: .roleRejected, message: "expected reducer 0, but the peer is reducer 3")
        #expect(mapper.frameReceived(.hello(TestFrames.hello(.reducer, 3)), from: 2) == [.report(.refused(2, error.message)), .close(2, error)])
        #expect(mapper.connectedReducers == 0)
    }

    @Test("a peer that answers the handshake with an ERROR is reported and closed")
    func refusedByPeer() {
        var mapper = MapperStateMachine(configuration: .init(index: 5, instance: 1, reducerCount: 1, extractor: Extractor()))
        _ = mapper.connectionOpened(1, to: .router(index: 0))
        let refusal = ErrorFrame(code: .roleRejected, message: "mapper 5 is outside")
        #expect(mapper.frameReceived(.error(refusal), from: 1) == [
            .report(.peerError(peer: "router 0", code: 2, message: "mapper 5 is outside")), .close(1, nil),
            .report(.routerLost(index: 0, droppedRecords: 0)),
        ])
    }

    @Test("items go to reducer partition(key, R) within its credit, in order; the router gets its credit back")
    func partitioning() {
        var mapper = Self.connected()
        let keys = (0..<12).map { "key-\($0)" }
        let to0 = keys.indices.filter { Self.reducer(of: keys[$0]) == 0 }
        let to1 = keys.indices.filter { Self.reducer(of: keys[$0]) == 1 }
        #expect(!to0.isEmpty && !to1.isEmpty, "the keys cover both reducers")
        #expect(mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 10) == [])
        #expect(mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 11) == [])
        #expect(mapper.frameReceived(Self.batch(keys), from: 1) == [
            .send(10, Self.items(keys, to0)),
            .send(11, Self.items(keys, to1)),
            .send(1, .credit(Credit(count: 12, bytes: UInt64(Self.records(keys).byteCount)))),
        ])
        #expect(mapper.queuedItems == 0)
    }

    @Test("without reducer credit, items wait; credit releases as many as it allows")
    func waitsForCredit() {
        var mapper = Self.connected()
        let keys = ["a", "b", "c", "d", "e", "f"]
        let to0 = keys.indices.filter { Self.reducer(of: keys[$0]) == 0 }
        #expect(to0.count >= 2)
        #expect(mapper.frameReceived(Self.batch(keys), from: 1) == [
            .send(1, .credit(Credit(count: 6, bytes: UInt64(Self.records(keys).byteCount)))),
        ], "the batch is processed into the reducer queues; its records' credit goes back")
        #expect(mapper.queuedItems == 6)
        #expect(mapper.frameReceived(.credit(Credit(count: 1, bytes: 1 << 20)), from: 10) == [.send(10, Self.items(keys, [to0[0]]))])
        #expect(mapper.frameReceived(.credit(Credit(count: 10, bytes: 1 << 20)), from: 10) == [.send(10, Self.items(keys, Array(to0.dropFirst())))])
        #expect(mapper.queuedItems == 6 - to0.count)
    }

    @Test("an ERROR from a router or a reducer is reported with its code and message")
    func peerErrors() {
        var mapper = Self.connected()
        #expect(mapper.frameReceived(.error(ErrorFrame(code: .roleRejected, message: "mapper 1 is outside")), from: 1) == [
            .report(.peerError(peer: "router 0", code: 2, message: "mapper 1 is outside")),
        ])
        #expect(mapper.frameReceived(.error(ErrorFrame(code: .shuttingDown, message: "draining")), from: 11) == [
            .report(.peerError(peer: "reducer 1", code: 6, message: "draining")),
        ])
    }

    @Test("a record that yields no item is acknowledged complete at once")
    func zeroItems() {
        var mapper = Self.connected { $0.extractor = Extractor(mode: .lines) }
        #expect(mapper.frameReceived(Self.batch(["a"], data: { _ in "\n\n" }), from: 1) == [
            .send(1, .acks([Ack(token: Token(router: 0, worker: Self.worker, record: 0, item: 0, itemCount: 0), status: .ok)])),
            .send(1, .credit(Credit(count: 1, bytes: UInt64(Self.records(["a"], data: { _ in "\n\n" }).byteCount)))),
        ])
    }

    @Test("--filter: items no pattern matches are acknowledged complete at once, counted, and never reach a reducer")
    func filtering() throws {
        let pattern = try EventPattern(#"{"data": {"type": ["order"]}}"#)
        var mapper = Self.connected { $0.filter = EventFilter(patterns: [pattern]); $0.extractor = Extractor(mode: .lines) }
        let data: (Int) -> String = { _ in "{\"type\":\"order\"}\n{\"type\":\"refund\"}\nnot json" }
        let actions = mapper.frameReceived(Self.batch(["a"], data: data), from: 1)
        #expect(actions.first == .send(1, .acks([
            Ack(token: Token(router: 0, worker: Self.worker, record: 0, item: 1, itemCount: 3), status: .ok),
            Ack(token: Token(router: 0, worker: Self.worker, record: 0, item: 2, itemCount: 3), status: .ok),
        ])), "the refund and the line that is not JSON are filtered out")
        #expect(mapper.itemsFiltered == 2 && mapper.queuedItems == 1)
    }

    @Test("acks go to the router in their token; acks from before a router restart are dropped")
    func ackRouting() {
        var mapper = Self.connected()
        let ack = TestFrames.ack(3, worker: Self.worker)
        #expect(mapper.frameReceived(.acks([ack]), from: 10) == [.send(1, .acks([ack]))])
        let older = TestFrames.ack(3, worker: 0x1111_2222 << 32 | 5)  // another incarnation of router 0
        #expect(mapper.frameReceived(.acks([older]), from: 10) == [.report(.acksDropped(count: 1, reason: "router gone or restarted"))])
    }

    @Test("a lost reducer resets the mapper: it drops what it holds and closes its router connections")
    func reducerLost() {
        var mapper = Self.connected { $0.reducerQueueLimit = Credit(count: 3, bytes: 1 << 20) }
        let first = (0..<10).map { "k\($0)" }
        let second = (0..<10).map { "m\($0)" }
        _ = mapper.frameReceived(Self.batch(first), from: 1)
        _ = mapper.frameReceived(Self.batch(second), from: 1)
        #expect(mapper.queuedItems == 10, "the second batch waits: the queues are full")
        #expect(mapper.connectionClosed(11) == [
            .report(.reducerLost(index: 1, inFlightItems: 0)),
            .close(1, nil),
            .report(.reset(droppedRecords: 10, droppedItems: 10)),
        ])
        #expect(mapper.queuedItems == 0 && mapper.connectedRouters == 0)
        #expect(mapper.frameReceived(Self.batch(first), from: 1) == [], "frames still arriving on the closed connection are ignored")
        // The router connection comes back; the reducer too; records flow again.
        _ = mapper.connectionOpened(2, to: .router(index: 0))
        #expect(mapper.frameReceived(.hello(TestFrames.hello(.router, 0, instance: Self.routerInstance)), from: 2) == [
            .send(2, .credit(FlowDefaults.routerWindow)), .report(.routerJoined(index: 0)),
        ])
        _ = mapper.connectionOpened(12, to: .reducer(index: 1))
        #expect(mapper.frameReceived(.hello(TestFrames.hello(.reducer, 1)), from: 12) == [.report(.reducerJoined(index: 1))])
        let to1 = first.indices.filter { Self.reducer(of: first[$0]) == 1 }
        _ = mapper.frameReceived(Self.batch(first), from: 2)
        #expect(mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 12) == [.send(12, Self.items(first, to1))])
    }

    @Test("records are only taken while reducer queues have room (bounded memory)")
    func boundedQueues() {
        var mapper = Self.connected { $0.reducerQueueLimit = Credit(count: 3, bytes: 1 << 20) }
        let first = (0..<10).map { "k\($0)" }
        let second = (0..<10).map { "m\($0)" }
        #expect(mapper.frameReceived(Self.batch(first), from: 1) == [
            .send(1, .credit(Credit(count: 10, bytes: UInt64(Self.records(first).byteCount)))),
        ])
        #expect(mapper.frameReceived(Self.batch(second), from: 1) == [], "the second batch waits: no credit back for it yet")
        _ = mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 10)
        let drained = mapper.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 11)
        #expect(drained.last == .send(1, .credit(Credit(count: 10, bytes: UInt64(Self.records(second).byteCount)))),
                "once the reducers took their items, the second batch is processed and its credit returned")
        #expect(mapper.queuedItems == 0)
    }

    @Test("a router exceeding the credit it was granted is refused")
    func routerCreditViolation() {
        var mapper = Self.connected { $0.routerWindow = Credit(count: 2, bytes: 1 << 20) }
        let error = ErrorFrame(code: .protocolViolation, message: "3 records exceed the granted credit")
        #expect(mapper.frameReceived(Self.batch(["a", "b", "c"]), from: 1) == [
            .report(.refused(1, error.message)), .close(1, error), .report(.routerLost(index: 0, droppedRecords: 0)),
        ])
    }
}
