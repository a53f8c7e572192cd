import NIOCore
import Testing

@testable import ShardFlowCore

@Suite("Router state machine")
struct RouterStateMachineTests {
    typealias Action = RouterStateMachine.Action
    static let instance: UInt64 = 0x1234_5678_9ABC_DEF0

    static func machine(window: Credit = Credit(count: 10, bytes: 1 << 20)) -> RouterStateMachine {
        var configuration = RouterStateMachine.Configuration(index: 1, instance: instance)
        configuration.workerWindow = window
        return RouterStateMachine(configuration: configuration)
    }

    static func records(_ indices: ClosedRange<UInt64>) -> RecordBatch {
        RecordBatch(indices.map {
            WireRecord(index: $0, subSequenceNumber: 0, arrivalTimestamp: nil, sequenceNumber: ByteBuffer(string: "\($0)"),
                       partitionKey: ByteBuffer(string: "k\($0)"), data: ByteBuffer(string: "d\($0)"))
        })
    }

    static func hello(_ role: PeerRole, _ index: UInt32 = 0, name: String = "x", version: UInt16 = Hello.currentVersion) -> Frame {
        .hello(Hello(version: version, role: role, index: index, instance: 7, name: name))
    }

    /// Connects worker on connection 1 (shard "shard-A") and mapper on connection 2.
    static func connected() -> (RouterStateMachine, workerId: UInt64) {
        var router = machine()
        _ = router.connectionOpened(1)
        let joined = router.frameReceived(hello(.worker, name: "shard-A"), from: 1)
        _ = router.connectionOpened(2)
        _ = router.frameReceived(hello(.mapper, 0), from: 2)
        var workerId: UInt64 = 0
        for case .report(.workerJoined(_, let id)) in joined { workerId = id }
        return (router, workerId)
    }

    static func routed(_ actions: [Action]) -> [(ConnectionID, [UInt64])] {
        actions.compactMap {
            if case .send(let id, .routedRecords(_, _, let records)) = $0 { return (id, Array(records).map(\.index)) }
            return nil
        }
    }

    @Test("handshakes: HELLO both ways, a worker gets its credit window and a router-scoped id")
    func handshakes() {
        var router = Self.machine()
        #expect(router.connectionOpened(1) == [.send(1, .hello(router.hello))])
        let actions = router.frameReceived(Self.hello(.worker, name: "shardId-000000000007"), from: 1)
        #expect(actions.first == .send(1, .credit(Credit(count: 10, bytes: 1 << 20))))
        guard case .report(.workerJoined("shardId-000000000007", let id)) = actions.last else {
            Issue.record("no join report")
            return
        }
        #expect(id >> 32 == Self.instance & 0xFFFF_FFFF, "the worker id carries the router's incarnation")
        #expect(router.workerCount == 1)
    }

    @Test("bad handshakes are refused with an ERROR naming the problem", arguments: [
        (RouterStateMachineTests.hello(.worker, version: 9), ErrorFrame.Code.versionMismatch),
        (RouterStateMachineTests.hello(.reducer), ErrorFrame.Code.roleRejected),
        (Frame.credit(Credit(count: 1, bytes: 1)), ErrorFrame.Code.protocolViolation),
    ])
    func refusedHandshakes(frame: Frame, code: ErrorFrame.Code) {
        var router = Self.machine()
        _ = router.connectionOpened(1)
        let actions = router.frameReceived(frame, from: 1)
        #expect(actions.contains { if case .close(1, let error?) = $0 { error.code == code } else { false } })
    }

    @Test("records go to a mapper within its credit, split when needed; the worker gets credit back")
    func routingWithinCredit() {
        var (router, workerId) = Self.connected()
        #expect(Self.routed(router.frameReceived(.records(Self.records(0...2)), from: 1)).isEmpty, "no mapper credit yet")
        let first = router.frameReceived(.credit(Credit(count: 2, bytes: 1 << 20)), from: 2)
        #expect(Self.routed(first).map(\.1) == [[0, 1]])
        #expect(first.contains(.send(1, .credit(Credit(count: 2, bytes: UInt64(Self.records(0...1).byteCount))))))
        #expect(router.queuedRecords == 1)
        let second = router.frameReceived(.credit(Credit(count: 5, bytes: 1 << 20)), from: 2)
        #expect(Self.routed(second).map(\.1) == [[2]])
        if case .send(_, .routedRecords(let worker, let shard, _))? = second.first(where: { if case .send(_, .routedRecords) = $0 { true } else { false } }) {
            #expect(worker == workerId && shard == "shard-A")
        }
    }

    @Test("a worker exceeding its record credit is refused")
    func creditViolation() {
        var router = Self.machine(window: Credit(count: 2, bytes: 1 << 20))
        _ = router.connectionOpened(1)
        _ = router.frameReceived(Self.hello(.worker), from: 1)
        let actions = router.frameReceived(.records(Self.records(0...2)), from: 1)
        #expect(actions.contains { if case .close(1, let error?) = $0 { error.code == .protocolViolation } else { false } })
        #expect(router.workerCount == 0)
    }

    @Test("acks go to the worker named in their token; stale and foreign ones are dropped")
    func ackRouting() {
        var (router, workerId) = Self.connected()
        let ok = Ack(token: Token(router: 1, worker: workerId, record: 0, item: 0, itemCount: 1), status: .ok)
        let stale = Ack(token: Token(router: 1, worker: workerId + 99, record: 0, item: 0, itemCount: 1), status: .ok)
        let foreign = Ack(token: Token(router: 3, worker: workerId, record: 0, item: 0, itemCount: 1), status: .ok)
        let actions = router.frameReceived(.acks([ok, stale, foreign]), from: 2)
        #expect(actions.contains(.send(1, .acks([ok]))))
        #expect(actions.contains(.report(.acksDropped(count: 1, reason: "token names another router"))))
        #expect(actions.contains(.report(.acksDropped(count: 1, reason: "worker gone"))))
    }

    @Test("a lost mapper is announced to every worker so they resend")
    func mapperLost() {
        var (router, _) = Self.connected()
        _ = router.connectionOpened(3)
        _ = router.frameReceived(Self.hello(.worker, name: "shard-B"), from: 3)
        let actions = router.connectionClosed(2)
        let told = actions.compactMap { if case .send(let id, .peerLost(let lost)) = $0, lost.role == .mapper { id } else { nil } }
        #expect(Set(told) == [1, 3])
        #expect(actions.contains(.report(.mapperLost(index: 0, announced: false))))
    }

    @Test("workers are served round-robin, so one busy shard does not starve another")
    func roundRobin() {
        var (router, _) = Self.connected()
        _ = router.connectionOpened(3)
        _ = router.frameReceived(Self.hello(.worker, name: "shard-B"), from: 3)
        _ = router.frameReceived(.records(Self.records(0...2)), from: 1)
        _ = router.frameReceived(.records(Self.records(0...2)), from: 1)
        _ = router.frameReceived(.records(Self.records(10...12)), from: 3)
        let actions = router.frameReceived(.credit(Credit(count: 6, bytes: 1 << 20)), from: 2)
        let batches = Self.routed(actions).map(\.1)
        #expect(batches == [[0, 1, 2], [10, 11, 12]], "shard-B's batch goes before shard-A's second")
    }

    // MARK: Key-ordered routing

    /// A key-ordered router over two mappers: worker on connection 1, mapper 0 on 2, mapper 1 on 3.
    static func keyOrdered() -> RouterStateMachine {
        var configuration = RouterStateMachine.Configuration(index: 1, instance: instance)
        configuration.workerWindow = Credit(count: 100, bytes: 1 << 20)
        configuration.routing = .byPartitionKey(mappers: 2)
        var router = RouterStateMachine(configuration: configuration)
        _ = router.connectionOpened(1)
        _ = router.frameReceived(hello(.worker, name: "shard-A"), from: 1)
        _ = router.connectionOpened(2)
        _ = router.frameReceived(hello(.mapper, 0), from: 2)
        _ = router.connectionOpened(3)
        _ = router.frameReceived(hello(.mapper, 1), from: 3)
        return router
    }

    static func mapperOfKey(_ index: UInt64) -> Int { Partitioner.partition(Array("k\(index)".utf8), count: 2) }

    @Test("key-ordered: every record goes to the mapper its partition key hashes to, in order")
    func keyOrderedRouting() {
        var router = Self.keyOrdered()
        _ = router.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 2)
        _ = router.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 3)
        var got: [ConnectionID: [UInt64]] = [:]
        for batch in [0...9, 10...19] as [ClosedRange<UInt64>] {
            for (connection, indices) in Self.routed(router.frameReceived(.records(Self.records(batch)), from: 1)) {
                got[connection, default: []] += indices
            }
        }
        let expected0 = (0...19 as ClosedRange<UInt64>).filter { Self.mapperOfKey($0) == 0 }
        let expected1 = (0...19 as ClosedRange<UInt64>).filter { Self.mapperOfKey($0) == 1 }
        #expect(!expected0.isEmpty && !expected1.isEmpty, "the keys cover both mappers")
        #expect(got[2] == expected0)
        #expect(got[3] == expected1)
        #expect(router.queuedRecords == 0)
    }

    @Test("key-ordered: a mapper without credit holds back only its own keys, which follow in order later")
    func keyOrderedHoldsBack() {
        var router = Self.keyOrdered()
        _ = router.frameReceived(.credit(Credit(count: 100, bytes: 1 << 20)), from: 2)
        let first = Self.routed(router.frameReceived(.records(Self.records(0...19)), from: 1))
        let forMapper1 = (0...19 as ClosedRange<UInt64>).filter { Self.mapperOfKey($0) == 1 }
        #expect(first.map(\.0) == [2], "only mapper 0 has credit")
        #expect(first.flatMap(\.1) == (0...19 as ClosedRange<UInt64>).filter { Self.mapperOfKey($0) == 0 })
        #expect(router.queuedRecords == forMapper1.count)
        // Mapper 1 grants room for two records at a time: its records come in order, in pieces.
        var delivered: [UInt64] = []
        while delivered.count < forMapper1.count {
            let routed = Self.routed(router.frameReceived(.credit(Credit(count: 2, bytes: 1 << 20)), from: 3))
            #expect(routed.allSatisfy { $0.0 == 3 && $0.1.count <= 2 })
            delivered += routed.flatMap(\.1)
        }
        #expect(delivered == forMapper1)
        #expect(router.queuedRecords == 0)
    }

    @Test("key-ordered: a mapper index outside the configured count is refused, naming the fix")
    func keyOrderedRefusesUnknownMapper() {
        var router = Self.keyOrdered()
        _ = router.connectionOpened(4)
        let actions = router.frameReceived(Self.hello(.mapper, 2), from: 4)
        let refusal = actions.compactMap { if case .close(4, let error?) = $0 { error } else { nil } }.first
        #expect(refusal?.code == .roleRejected)
        #expect(refusal?.message.contains("--mappers") == true)
    }

    @Test("a batch partitions into order-keeping parts; a batch all in one part is passed on whole")
    func batchPartitioning() {
        let batch = Self.records(0...9)
        let parts = batch.partitioned(into: 3) { Int($0.index % 3) }
        #expect(parts.map { Array($0).map(\.index) } == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]])
        #expect(parts.map(\.count).reduce(0, +) == 10)
        let whole = batch.partitioned(into: 3) { _ in 1 }
        #expect(whole[1] == batch && whole[0].isEmpty && whole[2].isEmpty)
        let sameBytes = whole[1].bytes.withUnsafeReadableBytes { kept in
            batch.bytes.withUnsafeReadableBytes { original in kept.baseAddress == original.baseAddress }
        }
        #expect(sameBytes, "a batch all in one part is not copied")
    }

    @Test("drain tells workers to stop and refuses new ones")
    func drain() {
        var (router, _) = Self.connected()
        #expect(router.drain(reason: "SIGTERM") == [.send(1, .drain(Drain(reason: "SIGTERM")))])
        _ = router.connectionOpened(4)
        let refused = router.frameReceived(Self.hello(.worker), from: 4)
        #expect(refused.contains { if case .close(4, let error?) = $0 { error.code == .shuttingDown } else { false } })
    }
}
