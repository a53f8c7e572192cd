import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

/// Transcripts of the router: frames in, exact actions out.
@Suite("Router state machine")
struct RouterStateMachineTests {
    static let instance: UInt64 = 0x1234_5678_9ABC_DEF0
    /// The first worker id a router with `instance` hands out.
    static let firstWorker: UInt64 = 0x9ABC_DEF0_0000_0001

    static func router(window: Credit = Credit(count: 10, bytes: 1 << 20), routing: RouterStateMachine.Routing = .anyMapper) -> RouterStateMachine {
        var configuration = RouterStateMachine.Configuration(index: 1, instance: instance)
        configuration.workerWindow = window
        configuration.routing = routing
        return RouterStateMachine(configuration: configuration)
    }

    static func routed(_ worker: UInt64, _ indices: ClosedRange<UInt64>, shard: String = "shard-A") -> OutboundFrame {
        .routedRecords(RoutedRecordBatch(router: 1, worker: worker, shardId: shard, records: TestFrames.records(indices)))
    }

    /// Worker "shard-A" on connection 1, mapper 0 on connection 2.
    static func connected(window: Credit = Credit(count: 10, bytes: 1 << 20)) -> RouterStateMachine {
        var router = router(window: window)
        _ = router.connectionOpened(1)
        _ = router.frameReceived(.hello(TestFrames.hello(.worker, name: "shard-A")), from: 1)
        _ = router.connectionOpened(2)
        _ = router.frameReceived(.hello(TestFrames.hello(.mapper, 0)), from: 2)
        return router
    }

    @Test("handshakes: HELLO both ways; a worker gets its credit window and an id carrying the router's incarnation")
    func handshakes() {
        var router = Self.router()
        #expect(router.connectionOpened(1) == [.send(1, .hello(router.hello))])
        #expect(router.frameReceived(.hello(TestFrames.hello(.worker, name: "shardId-000000000007")), from: 1) == [
            .send(1, .credit(Credit(count: 10, bytes: 1 << 20))),
            .report(.workerJoined(shardId: "shardId-000000000007", worker: Self.firstWorker)),
        ])
        #expect(router.connectionOpened(2) == [.send(2, .hello(router.hello))])
        #expect(router.frameReceived(.hello(TestFrames.hello(.mapper, 3)), from: 2) == [.report(.mapperJoined(index: 3))])
        #expect(router.workerCount == 1 && router.mapperCount == 1)
    }

    @Test("a wrong first frame, version or role is refused with the ERROR that names it")
    func refusedHandshakes() {
        var router = Self.router()
        _ = router.connectionOpened(1)
        let version = ErrorFrame(code: .versionMismatch, message: "protocol version 9 is not 1; run the same ShardFlow version in the whole group")
        #expect(router.frameReceived(.hello(TestFrames.hello(.worker, version: 9)), from: 1) == [
            .report(.refused(1, version.message)), .close(1, version),
        ])
        _ = router.connectionOpened(2)
        let role = ErrorFrame(code: .roleRejected, message: "a router accepts workers and mappers, not a reducer")
        #expect(router.frameReceived(.hello(TestFrames.hello(.reducer)), from: 2) == [.report(.refused(2, role.message)), .close(2, role)])
        _ = router.connectionOpened(3)
        let first = ErrorFrame(code: .protocolViolation, message: "expected HELLO first, got CREDIT")
        #expect(router.frameReceived(.credit(Credit(count: 1, bytes: 1)), from: 3) == [.report(.refused(3, first.message)), .close(3, first)])
        #expect(router.workerCount == 0 && router.mapperCount == 0)
    }

    @Test("records go to a mapper within its credit, split when needed; the worker gets its credit back")
    func routingWithinCredit() {
        var router = Self.connected()
        #expect(router.frameReceived(.records(TestFrames.records(0...2)), from: 1) == [], "no mapper credit yet")
        #expect(router.frameReceived(.credit(Credit(count: 2, bytes: 1 << 20)), from: 2) == [
            .send(1, .credit(Credit(count: 2, bytes: UInt64(TestFrames.records(0...1).byteCount)))),
            .send(2, Self.routed(Self.firstWorker, 0...1)),
        ])
        #expect(router.queuedRecords == 1)
        #expect(router.frameReceived(.credit(Credit(count: 5, bytes: 1 << 20)), from: 2) == [
            .send(1, .credit(Credit(count: 1, bytes: UInt64(TestFrames.records(2...2).byteCount)))),
            .send(2, Self.routed(Self.firstWorker, 2...2)),
        ])
        #expect(router.queuedRecords == 0)
    }

    @Test("a worker exceeding its record credit is refused")
    func creditViolation() {
        var router = Self.connected(window: Credit(count: 2, bytes: 1 << 20))
        let error = ErrorFrame(code: .protocolViolation, message: "3 records exceed the granted credit")
        #expect(router.frameReceived(.records(TestFrames.records(0...2)), from: 1) == [
            .report(.refused(1, error.message)), .close(1, error),
            .report(.workerLeft(shardId: "shard-A", worker: Self.firstWorker, droppedRecords: 0)),
        ])
        #expect(router.workerCount == 0)
    }

    @Test("acks go to the worker named in their token; stale and foreign ones are dropped")
    func ackRouting() {
        var router = Self.connected()
        let ok = TestFrames.ack(0, router: 1, worker: Self.firstWorker)
        let stale = TestFrames.ack(0, router: 1, worker: Self.firstWorker + 99)
        let foreign = TestFrames.ack(0, router: 3, worker: Self.firstWorker)
        #expect(router.frameReceived(.acks([ok, stale, foreign]), from: 2) == [
            .report(.acksDropped(count: 1, reason: "token names another router")),
            .send(1, .acks([ok])),
            .report(.acksDropped(count: 1, reason: "worker gone")),
        ])
    }

    @Test("a lost mapper is announced to every worker so they resend")
    func mapperLost() {
        var router = Self.connected()
        _ = router.connectionOpened(3)
        _ = router.frameReceived(.hello(TestFrames.hello(.worker, name: "shard-B")), from: 3)
        let lost = PeerLost(role: .mapper, index: 0, reason: "mapper 0 disconnected from router 1")
        #expect(router.connectionClosed(2) == [
            .report(.mapperLost(index: 0, announced: false)), .send(1, .peerLost(lost)), .send(3, .peerLost(lost)),
        ])
    }

    @Test("a mapper's ERROR is reported; its PEER_LOST goes on to every worker")
    func mapperErrorsAndPeerLost() {
        var router = Self.connected()
        #expect(router.frameReceived(.error(ErrorFrame(code: .internalError, message: "boom")), from: 2) == [
            .report(.peerError(peer: "mapper 0", code: 7, message: "boom")),
        ])
        let lost = PeerLost(role: .reducer, index: 1, reason: "reducer 1 disconnected from mapper 0")
        #expect(router.frameReceived(.peerLost(lost), from: 2) == [.send(1, .peerLost(lost))])
    }

    @Test("workers are served round-robin, so one busy shard does not starve another")
    func roundRobin() {
        var router = Self.connected()
        _ = router.connectionOpened(3)
        _ = router.frameReceived(.hello(TestFrames.hello(.worker, name: "shard-B")), from: 3)
        _ = router.frameReceived(.records(TestFrames.records(0...2)), from: 1)
        _ = router.frameReceived(.records(TestFrames.records(3...5)), from: 1)
        _ = router.frameReceived(.records(TestFrames.records(10...12)), from: 3)
        let bytes = { (range: ClosedRange<UInt64>) in UInt64(TestFrames.records(range).byteCount) }
        #expect(router.frameReceived(.credit(Credit(count: 6, bytes: 1 << 20)), from: 2) == [
            .send(1, .credit(Credit(count: 3, bytes: bytes(0...2)))),
            .send(2, Self.routed(Self.firstWorker, 0...2)),
            .send(3, .credit(Credit(count: 3, bytes: bytes(10...12)))),
            .send(2, Self.routed(Self.firstWorker + 1, 10...12, shard: "shard-B")),
        ], "shard-B's batch goes before shard-A's second")
        #expect(router.frameReceived(.credit(Credit(count: 3, bytes: 1 << 20)), from: 2) == [
            .send(1, .credit(Credit(count: 3, bytes: bytes(3...5)))),
            .send(2, Self.routed(Self.firstWorker, 3...5)),
        ])
    }

    @Test("a draining mapper takes no more records")
    func drainingMapper() {
        var router = Self.connected()
        #expect(router.frameReceived(.drain(Drain(reason: "SIGTERM")), from: 2) == [])
        #expect(router.frameReceived(.credit(Credit(count: 5, bytes: 1 << 20)), from: 2) == [])
        #expect(router.frameReceived(.records(TestFrames.records(0...1)), from: 1) == [])
        #expect(router.queuedRecords == 2)
        #expect(router.connectionClosed(2) == [
            .report(.mapperLost(index: 0, announced: true)),
            .send(1, .peerLost(PeerLost(role: .mapper, index: 0, reason: "mapper 0 disconnected from router 1"))),
        ])
    }

    @Test("a second mapper claiming an index already connected is refused; the first keeps working")
    func duplicateMapper() {
        var router = Self.connected()
        _ = router.connectionOpened(5)
        let error = ErrorFrame(code: .roleRejected, message: "mapper 0 is already connected; a second mapper with the same index is refused")
        #expect(router.frameReceived(.hello(TestFrames.hello(.mapper, 0)), from: 5) == [.report(.refused(5, error.message)), .close(5, error)])
        #expect(router.mapperCount == 1)
        _ = router.frameReceived(.records(TestFrames.records(0...0)), from: 1)
        #expect(router.frameReceived(.credit(Credit(count: 5, bytes: 1 << 20)), from: 2) == [
            .send(1, .credit(Credit(count: 1, bytes: UInt64(TestFrames.records(0...0).byteCount)))),
            .send(2, Self.routed(Self.firstWorker, 0...0)),
        ])
    }

    @Test("drain tells workers to stop and refuses new ones")
    func drain() {
        var router = Self.connected()
        #expect(router.drain(reason: "SIGTERM") == [.send(1, .drain(Drain(reason: "SIGTERM")))])
        _ = router.connectionOpened(4)
        let error = ErrorFrame(code: .shuttingDown, message: "router is draining")
        #expect(router.frameReceived(.hello(TestFrames.hello(.worker)), from: 4) == [.report(.refused(4, error.message)), .close(4, error)])
    }

    // MARK: Key-ordered routing

    /// A key-ordered router over two mappers: worker on connection 1, mapper 0 on 2, mapper 1 on 3.
    static func keyOrdered() -> RouterStateMachine {
        var router = router(window: Credit(count: 100, bytes: 1 << 20), routing: .byPartitionKey(mappers: 2))
        _ = router.connectionOpened(1)
        _ = router.frameReceived(.hello(TestFrames.hello(.worker, name: "shard-A")), from: 1)
        _ = router.connectionOpened(2)
        _ = router.frameReceived(.hello(TestFrames.hello(.mapper, 0)), from: 2)
        _ = router.connectionOpened(3)
        _ = router.frameReceived(.hello(TestFrames.hello(.mapper, 1)), from: 3)
        return router
    }

    static func mapperOfKey(_ index: UInt64) -> Int { Partitioner.partition(Array("k\(index)".utf8), count: 2) }

    /// Record indices of the ROUTED_RECORDS sent to `connection`.
    static func indices(_ actions: [RouterStateMachine.Action], to connection: ConnectionID) -> [UInt64] {
        actions.flatMap { action -> [UInt64] in
            if case .send(connection, .routedRecords(let batch)) = action { return batch.records.map(\.index) }
            return []
        }
    }

    @Test("key-ordered: every record goes to the mapper its partition key hashes to, in order")
    func keyOrderedRouting() {
        var router = Self.keyOrdered()
        _ = router.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 2)
        _ = router.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 3)
        let first = router.frameReceived(.records(TestFrames.records(0...9)), from: 1)
        let second = router.frameReceived(.records(TestFrames.records(10...19)), from: 1)
        let expected0 = (0...19 as ClosedRange<UInt64>).filter { Self.mapperOfKey($0) == 0 }
        let expected1 = (0...19 as ClosedRange<UInt64>).filter { Self.mapperOfKey($0) == 1 }
        #expect(!expected0.isEmpty && !expected1.isEmpty, "the keys cover both mappers")
        #expect(Self.indices(first, to: 2) + Self.indices(second, to: 2) == expected0)
        #expect(Self.indices(first, to: 3) + Self.indices(second, to: 3) == expected1)
        #expect(router.queuedRecords == 0)
    }

    @Test("key-ordered: a mapper without credit holds back only its own keys, which follow in order later")
    func keyOrderedHoldsBack() {
        var router = Self.keyOrdered()
        _ = router.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 2)
        let first = router.frameReceived(.records(TestFrames.records(0...19)), from: 1)
        let forMapper1 = (0...19 as ClosedRange<UInt64>).filter { Self.mapperOfKey($0) == 1 }
        #expect(Self.indices(first, to: 3) == [], "mapper 1 has no credit")
        #expect(Self.indices(first, to: 2) == (0...19 as ClosedRange<UInt64>).filter { Self.mapperOfKey($0) == 0 })
        #expect(router.queuedRecords == forMapper1.count)
        // Mapper 1 grants room for two records at a time: its records come in order, in pieces.
        var delivered: [UInt64] = []
        while delivered.count < forMapper1.count {
            let piece = Self.indices(router.frameReceived(.credit(Credit(count: 2, bytes: 1 << 20)), from: 3), to: 3)
            #expect(!piece.isEmpty && piece.count <= 2)
            delivered += piece
        }
        #expect(delivered == forMapper1)
        #expect(router.queuedRecords == 0)
    }

    @Test("key-ordered: a mapper index outside the configured count is refused, naming the fix")
    func keyOrderedRefusesUnknownMapper() {
        var router = Self.keyOrdered()
        _ = router.connectionOpened(4)
        let error = ErrorFrame(code: .roleRejected, message: "mapper 2 is outside this group's mappers 0..<2 (this router was started with --mappers 2)")
        #expect(router.frameReceived(.hello(TestFrames.hello(.mapper, 2)), from: 4) == [.report(.refused(4, error.message)), .close(4, error)])
    }

    @Test("a batch partitions into order-keeping parts; a batch all in one part is passed on whole")
    func batchPartitioning() {
        let batch = TestFrames.records(0...9)
        let parts = batch.partitioned(into: 3) { Int($0.index % 3) }
        #expect(parts.map { Array($0).map(\.index) } == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]])
        let whole = batch.partitioned(into: 3) { _ in 1 }
        #expect(whole[1] == batch && whole[0].isEmpty && whole[2].isEmpty)
        let sameBytes = whole[1].bytes.withUnsafeReadableBytes { kept in
            batch.bytes.withUnsafeReadableBytes { original in kept.baseAddress == original.baseAddress }
        }
        #expect(sameBytes, "a batch all in one part is not copied")
    }
}
