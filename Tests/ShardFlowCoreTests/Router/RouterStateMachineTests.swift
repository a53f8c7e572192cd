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

    static func router(window: Credit = Credit(count: 10, bytes: 1 << 20), ordering: RouterStateMachine.Ordering = .perKey) -> RouterStateMachine {
        var configuration = RouterStateMachine.Configuration(index: 1, instance: instance)
        configuration.workerWindow = window
        configuration.ordering = ordering
        return RouterStateMachine(configuration: configuration)
    }

    static func routed(_ worker: UInt64, _ indices: ClosedRange<UInt64>, shard: String = "shard-A", stream: String = "orders") -> OutboundFrame {
        .routedRecords(RoutedRecordBatch(router: 1, worker: worker, shardId: shard, stream: stream, records: TestFrames.records(indices)))
    }

    static func records(_ indices: ClosedRange<UInt64>, epoch: UInt32 = 0) -> Frame {
        .records(epoch: epoch, TestFrames.records(indices))
    }

    static func bytes(_ indices: ClosedRange<UInt64>) -> UInt64 { UInt64(TestFrames.records(indices).byteCount) }

    /// Worker "shard-A" of stream "orders" on connection 1, mapper 0 on connection 2.
    static func connected(window: Credit = Credit(count: 10, bytes: 1 << 20), ordering: RouterStateMachine.Ordering = .perKey) -> RouterStateMachine {
        var router = router(window: window, ordering: ordering)
        _ = router.connectionOpened(1)
        _ = router.frameReceived(.hello(TestFrames.hello(.worker, name: "shard-A", stream: "orders")), from: 1)
        _ = router.connectionOpened(2)
        _ = router.frameReceived(.hello(TestFrames.hello(.mapper, 0)), from: 2)
        return router
    }

    /// Record indices of the ROUTED_RECORDS sent to `connection`.
    static func indices(_ actions: [RouterStateMachine.Action], to connection: ConnectionID) -> [UInt64] {
        actions.flatMap { action -> [UInt64] in
            if case .send(connection, .routedRecords(let batch)) = action { return batch.records.map(\.index) }
            return []
        }
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
        let version = ErrorFrame(code: .versionMismatch, message: "protocol version 9 is not 2; run the same ShardFlow version in the whole group")
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
        #expect(router.frameReceived(Self.records((0...2)), from: 1) == [], "no mapper credit yet")
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
        #expect(router.frameReceived(Self.records((0...2)), from: 1) == [
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

    @Test("acks of one worker interleaved with others' reach it in one frame, in their order")
    func ackRoutingKeepsOrder() {
        var router = Self.connected()
        let first = TestFrames.ack(0, router: 1, worker: Self.firstWorker)
        let second = TestFrames.ack(1, router: 1, worker: Self.firstWorker)
        let third = TestFrames.ack(2, router: 1, worker: Self.firstWorker)
        let stale = TestFrames.ack(5, router: 1, worker: Self.firstWorker + 99)
        let foreign = TestFrames.ack(6, router: 3, worker: Self.firstWorker)
        #expect(router.frameReceived(.acks([first, stale, second, foreign, third]), from: 2) == [
            .report(.acksDropped(count: 1, reason: "token names another router")),
            .send(1, .acks([first, second, third])),
            .report(.acksDropped(count: 1, reason: "worker gone")),
        ])
    }

    @Test("per-key: a lost mapper fences only its workers: queued records dropped, credit returned, PEER_LOST")
    func mapperLostFencesItsWorkers() {
        var router = Self.connected()
        _ = router.connectionOpened(3)
        _ = router.frameReceived(.hello(TestFrames.hello(.worker, name: "shard-B", stream: "orders")), from: 3)
        _ = router.connectionOpened(4)
        _ = router.frameReceived(.hello(TestFrames.hello(.mapper, 1)), from: 4)
        // shard-A is assigned mapper 0 (router 1 starts counting at mapper 1, but loads tie
        // only until the first assignment), shard-B the other one.
        _ = router.frameReceived(.credit(Credit(count: 2, bytes: 1 << 20)), from: 2)
        _ = router.frameReceived(.credit(Credit(count: 2, bytes: 1 << 20)), from: 4)
        let a = router.frameReceived(Self.records(0...3), from: 1)
        let b = router.frameReceived(Self.records(10...11), from: 3)
        #expect(Self.indices(a, to: 4) == [0, 1], "router 1 prefers mapper 1 first")
        #expect(Self.indices(b, to: 2) == [10, 11], "the second worker goes to the less loaded mapper")
        #expect(router.queuedRecords == 2)
        let lost = PeerLost(role: .mapper, index: 1, reason: "mapper 1 disconnected from router 1")
        #expect(router.connectionClosed(4) == [
            .report(.mapperLost(index: 1, announced: false, workers: 1, droppedRecords: 2)),
            .send(1, .peerLost(lost)),
            .send(1, .credit(Credit(count: 2, bytes: Self.bytes(2...3)))),
        ], "shard-B, on mapper 0, is not disturbed")
        #expect(router.queuedRecords == 0)
    }

    @Test("per-key: records a worker sent before seeing PEER_LOST are dropped on arrival; its resend takes a new mapper")
    func fencedRecordsAreDropped() {
        var router = Self.connected()
        _ = router.connectionOpened(3)
        _ = router.frameReceived(.hello(TestFrames.hello(.mapper, 1)), from: 3)
        _ = router.frameReceived(.credit(Credit(count: 10, bytes: 1 << 20)), from: 3)
        #expect(Self.indices(router.frameReceived(Self.records(0...1), from: 1), to: 3) == [0, 1])
        _ = router.connectionClosed(3)
        // Still epoch 0: sent before the worker read the PEER_LOST.
        #expect(router.frameReceived(Self.records(2...3), from: 1) == [.send(1, .credit(Credit(count: 2, bytes: Self.bytes(2...3))))])
        #expect(router.recordsFenced == 2 && router.queuedRecords == 0)
        _ = router.frameReceived(.credit(Credit(count: 10, bytes: 1 << 20)), from: 2)
        #expect(Self.indices(router.frameReceived(Self.records(0...3, epoch: 1), from: 1), to: 2) == [0, 1, 2, 3],
                "the resend, in order, goes to the mapper still connected")
    }

    @Test("per-key: a worker's records stay with its mapper, waiting for its credit, while another mapper has room")
    func workerStaysWithItsMapper() {
        var router = Self.connected()
        _ = router.frameReceived(.credit(Credit(count: 1, bytes: 1 << 20)), from: 2)
        #expect(Self.indices(router.frameReceived(Self.records(0...2), from: 1), to: 2) == [0])
        _ = router.connectionOpened(3)
        _ = router.frameReceived(.hello(TestFrames.hello(.mapper, 1)), from: 3)
        #expect(router.frameReceived(.credit(Credit(count: 10, bytes: 1 << 20)), from: 3) == [], "shard-A keeps mapper 0")
        #expect(Self.indices(router.frameReceived(.credit(Credit(count: 10, bytes: 1 << 20)), from: 2), to: 2) == [1, 2])
    }

    @Test("none: batches go to any mapper with credit; a lost mapper fences every worker")
    func noOrdering() {
        var router = Self.connected(ordering: .none)
        _ = router.connectionOpened(3)
        _ = router.frameReceived(.hello(TestFrames.hello(.mapper, 1)), from: 3)
        _ = router.frameReceived(.credit(Credit(count: 2, bytes: 1 << 20)), from: 2)
        _ = router.frameReceived(.credit(Credit(count: 2, bytes: 1 << 20)), from: 3)
        let sent = router.frameReceived(Self.records(0...1), from: 1)
        let more = router.frameReceived(Self.records(2...3), from: 1)
        #expect(Self.indices(sent, to: 2) + Self.indices(more, to: 2) == [0, 1])
        #expect(Self.indices(more, to: 3) == [2, 3], "the next batch takes the other mapper")
        let lost = PeerLost(role: .mapper, index: 0, reason: "mapper 0 disconnected from router 1")
        #expect(router.connectionClosed(2) == [
            .report(.mapperLost(index: 0, announced: false, workers: 1, droppedRecords: 0)), .send(1, .peerLost(lost)),
        ])
    }

    @Test("a mapper's ERROR is reported; a PEER_LOST from a mapper breaks the protocol")
    func mapperErrorsAndPeerLost() {
        var router = Self.connected()
        #expect(router.frameReceived(.error(ErrorFrame(code: .internalError, message: "boom")), from: 2) == [
            .report(.peerError(peer: "mapper 0", code: 7, message: "boom")),
        ])
        let lost = PeerLost(role: .reducer, index: 1, reason: "reducer 1 disconnected from mapper 0")
        let error = ErrorFrame(code: .protocolViolation, message: "unexpected PEER_LOST from a mapper")
        #expect(router.frameReceived(.peerLost(lost), from: 2) == [
            .report(.refused(2, error.message)), .close(2, error),
            .report(.mapperLost(index: 0, announced: false, workers: 0, droppedRecords: 0)),
        ])
    }

    @Test("workers are served round-robin, so one busy shard does not starve another")
    func roundRobin() {
        var router = Self.connected()
        _ = router.connectionOpened(3)
        _ = router.frameReceived(.hello(TestFrames.hello(.worker, name: "shard-B")), from: 3)
        _ = router.frameReceived(Self.records((0...2)), from: 1)
        _ = router.frameReceived(Self.records((3...5)), from: 1)
        _ = router.frameReceived(Self.records((10...12)), from: 3)
        let first = router.frameReceived(.credit(Credit(count: 6, bytes: 1 << 20)), from: 2)
        #expect(Set(Self.indices(first, to: 2)) == Set([0, 1, 2, 10, 11, 12]), "shard-B's batch goes before shard-A's second")
        #expect(first.contains(.send(1, .credit(Credit(count: 3, bytes: Self.bytes(0...2))))))
        #expect(first.contains(.send(3, .credit(Credit(count: 3, bytes: Self.bytes(10...12))))))
        #expect(router.frameReceived(.credit(Credit(count: 3, bytes: 1 << 20)), from: 2) == [
            .send(1, .credit(Credit(count: 3, bytes: Self.bytes(3...5)))),
            .send(2, Self.routed(Self.firstWorker, 3...5)),
        ])
    }

    @Test("a draining mapper takes no more records; its workers wait for it to close, then resend")
    func drainingMapper() {
        var router = Self.connected()
        _ = router.frameReceived(.credit(Credit(count: 1, bytes: 1 << 20)), from: 2)
        #expect(Self.indices(router.frameReceived(Self.records(0...0), from: 1), to: 2) == [0])
        #expect(router.frameReceived(.drain(Drain(reason: "SIGTERM")), from: 2) == [])
        _ = router.connectionOpened(3)
        _ = router.frameReceived(.hello(TestFrames.hello(.mapper, 1)), from: 3)
        #expect(router.frameReceived(.credit(Credit(count: 5, bytes: 1 << 20)), from: 2) == [])
        #expect(router.frameReceived(.credit(Credit(count: 5, bytes: 1 << 20)), from: 3) == [])
        #expect(router.frameReceived(Self.records(1...2), from: 1) == [], "record 1 must not overtake record 0")
        #expect(router.queuedRecords == 2)
        #expect(router.connectionClosed(2) == [
            .report(.mapperLost(index: 0, announced: true, workers: 1, droppedRecords: 2)),
            .send(1, .peerLost(PeerLost(role: .mapper, index: 0, reason: "mapper 0 disconnected from router 1"))),
            .send(1, .credit(Credit(count: 2, bytes: Self.bytes(1...2)))),
        ])
    }

    @Test("a second mapper claiming an index already connected is refused; the first keeps working")
    func duplicateMapper() {
        var router = Self.connected()
        _ = router.connectionOpened(5)
        let error = ErrorFrame(code: .roleRejected, message: "mapper 0 is already connected; a second mapper with the same index is refused")
        #expect(router.frameReceived(.hello(TestFrames.hello(.mapper, 0)), from: 5) == [.report(.refused(5, error.message)), .close(5, error)])
        #expect(router.mapperCount == 1)
        _ = router.frameReceived(Self.records((0...0)), from: 1)
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
}
