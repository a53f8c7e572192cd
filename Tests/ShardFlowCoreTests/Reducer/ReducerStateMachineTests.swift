import NIOCore
import Testing

@testable import ShardFlowCore

@Suite("Reducer state machine")
struct ReducerStateMachineTests {
    typealias Action = ReducerStateMachine.Action
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func machine(_ configure: (inout ReducerStateMachine.Configuration) -> Void = { _ in }) -> ReducerStateMachine {
        var configuration = ReducerStateMachine.Configuration(index: 0, instance: 1)
        configuration.batchSize = 3
        configuration.batchTimeout = .milliseconds(50)
        configuration.mapperWindow = Credit(count: 10, bytes: 1 << 20)
        configure(&configuration)
        var reducer = ReducerStateMachine(configuration: configuration)
        _ = reducer.connectionOpened(1)
        _ = reducer.frameReceived(.hello(Hello(role: .mapper, index: 0, instance: 2, name: "mapper-0")), from: 1, now: start)
        return reducer
    }

    static func items(_ records: ClosedRange<UInt64>, error: String? = nil) -> Frame {
        .items(records.map {
            WireItem(token: Token(router: 0, worker: 1, record: $0, item: 0, itemCount: 1), subSequenceNumber: 0,
                     arrivalTimestamp: nil, shardId: ByteBuffer(string: "s"), sequenceNumber: ByteBuffer(string: "\($0)"),
                     partitionKey: nil, key: ByteBuffer(string: "k"), error: error, data: ByteBuffer(string: "d"))
        })
    }

    static func processed(_ actions: [Action]) -> [ReducerStateMachine.PendingItem]? {
        for case .process(let batch) in actions { return batch }
        return nil
    }

    static func acks(_ actions: [Action]) -> [(UInt64, AckStatus)] {
        actions.flatMap { action -> [(UInt64, AckStatus)] in
            if case .send(1, .acks(let acks)) = action { return acks.map { ($0.token.record, $0.status) } }
            return []
        }
    }

    @Test("a mapper gets its credit window after HELLO; other roles are refused")
    func handshake() {
        var reducer = ReducerStateMachine(configuration: .init(index: 0, instance: 1))
        #expect(reducer.connectionOpened(1) == [.send(1, .hello(reducer.hello))])
        let joined = reducer.frameReceived(.hello(Hello(role: .mapper, index: 4, instance: 2, name: "m")), from: 1, now: Self.start)
        #expect(joined.first == .send(1, .credit(reducer.configuration.mapperWindow)))
        _ = reducer.connectionOpened(2)
        let refused = reducer.frameReceived(.hello(Hello(role: .worker, index: 0, instance: 2, name: "w")), from: 2, now: Self.start)
        #expect(refused.contains { if case .close(2, let error?) = $0 { error.code == .roleRejected } else { false } })
    }

    @Test("a full batch is processed at once; outcomes become acks and credit on the item's connection")
    func fullBatch() throws {
        var reducer = Self.machine()
        let actions = reducer.frameReceived(Self.items(0...3), from: 1, now: Self.start)
        let batch = try #require(Self.processed(actions))
        #expect(batch.map(\.item.token.record) == [0, 1, 2])
        let done = reducer.batchProcessed(batch, outcomes: [.ok, .ok, .ok], now: Self.start)
        #expect(Self.acks(done).map(\.0) == [0, 1, 2])
        #expect(done.contains { if case .send(1, .credit(let credit)) = $0 { credit.count == 3 } else { false } })
        #expect(done.contains(.scheduleTimer(Self.start + .milliseconds(50))), "the 4th item waits for the batch timeout")
    }

    @Test("a partial batch goes once its oldest item has waited the batch timeout")
    func batchTimeout() throws {
        var reducer = Self.machine()
        let arrived = reducer.frameReceived(Self.items(0...0), from: 1, now: Self.start)
        #expect(Self.processed(arrived) == nil)
        #expect(arrived.contains(.scheduleTimer(Self.start + .milliseconds(50))))
        #expect(Self.processed(reducer.timerFired(now: Self.start + .milliseconds(49))) == nil)
        #expect(Self.processed(reducer.timerFired(now: Self.start + .milliseconds(50)))?.count == 1)
    }

    @Test("failed items are retried with backoff before newer items, keeping their order")
    func retries() throws {
        var reducer = Self.machine { $0.retryDelay = .milliseconds(100) }
        let batch = try #require(Self.processed(reducer.frameReceived(Self.items(0...5), from: 1, now: Self.start)))
        let failed = reducer.batchProcessed(batch, outcomes: [.ok, .failed("boom"), .failed("boom")], now: Self.start)
        #expect(Self.acks(failed).map(\.0) == [0])
        #expect(failed.contains(.report(.retrying(items: 2, attempt: 1, delay: .milliseconds(100), error: "boom"))))
        #expect(Self.processed(failed) == nil, "records 3 to 5 wait behind the retry")
        let retry = try #require(Self.processed(reducer.timerFired(now: Self.start + .milliseconds(100))))
        #expect(retry.map(\.item.token.record) == [1, 2])
        #expect(retry.allSatisfy { $0.attempts == 1 && $0.lastError == "boom" })
        let next = reducer.batchProcessed(retry, outcomes: [.ok, .ok], now: Self.start + .milliseconds(150))
        #expect(Self.acks(next).map(\.0) == [1, 2])
        #expect(Self.processed(next)?.map(\.item.token.record) == [3, 4, 5])
    }

    @Test("after --retries, items go to the dead-letter sink and are acknowledged dead-lettered")
    func deadLetter() throws {
        var reducer = Self.machine { $0.retries = 1; $0.hasDeadLetterSink = true; $0.retryDelay = .milliseconds(1) }
        var batch = try #require(Self.processed(reducer.frameReceived(Self.items(0...2), from: 1, now: Self.start)))
        var now = Self.start
        _ = reducer.batchProcessed(batch, outcomes: [.failed("no"), .ok, .ok], now: now)
        now = now + .milliseconds(10)
        batch = try #require(Self.processed(reducer.timerFired(now: now)))
        let gaveUp = reducer.batchProcessed(batch, outcomes: [.failed("still no")], now: now)
        var letters: [ReducerStateMachine.PendingItem] = []
        for case .deadLetter(let items) in gaveUp { letters = items }
        #expect(letters.map(\.item.token.record) == [0])
        #expect(letters.first?.attempts == 2 && letters.first?.lastError == "still no")
        #expect(Self.acks(reducer.deadLettered(letters, now: now)).map(\.1) == [.deadLettered])
        #expect(reducer.itemsDeadLettered == 1)
    }

    @Test("without a dead-letter sink, items that fail for good are acknowledged failed (their shard waits)")
    func failedAcks() throws {
        var reducer = Self.machine { $0.retries = 0 }
        let batch = try #require(Self.processed(reducer.frameReceived(Self.items(0...2), from: 1, now: Self.start)))
        let actions = reducer.batchProcessed(batch, outcomes: [.ok, .failed("x"), .ok], now: Self.start)
        #expect(Self.acks(actions).sorted { $0.0 < $1.0 }.map(\.1) == [.ok, .failed, .ok])
    }

    @Test("items the mapper flagged skip the processor and go straight to the error policy")
    func poisonItems() {
        var reducer = Self.machine { $0.hasDeadLetterSink = true }
        let actions = reducer.frameReceived(Self.items(0...0, error: "key json:/id: no value at /id"), from: 1, now: Self.start)
        #expect(actions.contains { if case .deadLetter(let items) = $0 { items.first?.lastError == "key json:/id: no value at /id" } else { false } })
        #expect(Self.processed(actions) == nil)
    }

    @Test("a mapper's unprocessed items are dropped when it disconnects (its workers resend)")
    func disconnect() {
        var reducer = Self.machine { $0.batchSize = 100 }
        _ = reducer.frameReceived(Self.items(0...4), from: 1, now: Self.start)
        let actions = reducer.connectionClosed(1, now: Self.start)
        #expect(actions.contains(.report(.mapperLeft(index: 0, droppedItems: 5))))
        #expect(reducer.queuedItems == 0)
    }

    @Test("items beyond the granted credit are a protocol violation")
    func creditViolation() {
        var reducer = Self.machine { $0.mapperWindow = Credit(count: 2, bytes: 1 << 20) }
        let actions = reducer.frameReceived(Self.items(0...2), from: 1, now: Self.start)
        #expect(actions.contains { if case .close(1, let error?) = $0 { error.code == .protocolViolation } else { false } })
    }

    @Test("drain processes a partial batch at once")
    func drain() {
        var reducer = Self.machine()
        _ = reducer.frameReceived(Self.items(0...0), from: 1, now: Self.start)
        #expect(Self.processed(reducer.drain(now: Self.start))?.count == 1)
    }
}
