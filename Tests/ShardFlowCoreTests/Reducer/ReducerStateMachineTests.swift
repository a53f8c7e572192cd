import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

/// Transcripts of the reducer: frames, processor results and timers in, exact actions out.
@Suite("Reducer state machine")
struct ReducerStateMachineTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// A reducer (batches of 3, 50 ms timeout, window of 10 items) with mapper 0 on connection 1.
    static func machine(_ configure: (inout ReducerStateMachine.Configuration) -> Void = { _ in }) -> ReducerStateMachine {
        var configuration = ReducerStateMachine.Configuration(index: 0, instance: 1)
        configuration.batchSize = 3
        configuration.batchTimeout = .milliseconds(50)
        configuration.mapperWindow = Credit(count: 10, bytes: 1 << 20)
        configure(&configuration)
        var reducer = ReducerStateMachine(configuration: configuration)
        _ = reducer.connectionOpened(1)
        _ = reducer.frameReceived(.hello(TestFrames.hello(.mapper, 0)), from: 1, now: start)
        return reducer
    }

    static func items(_ records: ClosedRange<UInt64>, error: String? = nil) -> [WireItem] {
        records.map { TestFrames.item(record: $0, error: error) }
    }

    /// What the reducer hands to the processor for these items arriving at `arrival`.
    static func pending(_ records: ClosedRange<UInt64>, arrival: NIODeadline = start, attempts: Int = 0, lastError: String? = nil,
                        error: String? = nil) -> [ReducerStateMachine.PendingItem] {
        items(records, error: error).map {
            ReducerStateMachine.PendingItem(item: $0, source: 1, attempts: attempts, lastError: lastError, arrival: arrival)
        }
    }

    static func acks(_ records: [UInt64], _ status: AckStatus = .ok) -> OutboundFrame {
        .acks(records.map { TestFrames.ack($0, status) })
    }

    static func credit(_ records: ClosedRange<UInt64>) -> OutboundFrame {
        .credit(Credit(count: UInt32(records.count), bytes: UInt64(items(records).reduce(0) { $0 + $1.encodedSize })))
    }

    @Test("a mapper gets its credit window after HELLO; other roles are refused")
    func handshake() {
        var reducer = ReducerStateMachine(configuration: .init(index: 0, instance: 1))
        #expect(reducer.connectionOpened(1) == [.send(1, .hello(reducer.hello))])
        #expect(reducer.frameReceived(.hello(TestFrames.hello(.mapper, 4)), from: 1, now: Self.start) == [
            .send(1, .credit(reducer.configuration.mapperWindow)), .report(.mapperJoined(index: 4)),
        ])
        _ = reducer.connectionOpened(2)
        let error = ErrorFrame(code: .roleRejected, message: "a reducer accepts mappers, not a worker")
        #expect(reducer.frameReceived(.hello(TestFrames.hello(.worker)), from: 2, now: Self.start) == [
            .report(.refused(2, error.message)), .close(2, error),
        ])
        #expect(reducer.mapperCount == 1)
    }

    @Test("a mapper outside the group's count, or a second one with an index already connected, is refused")
    func strayMappers() {
        var reducer = Self.machine { $0.mapperCount = 2 }
        _ = reducer.connectionOpened(2)
        let outside = ErrorFrame(code: .roleRejected, message: "mapper 7 is outside this group's mappers 0..<2 (this reducer was started with --mappers 2)")
        #expect(reducer.frameReceived(.hello(TestFrames.hello(.mapper, 7)), from: 2, now: Self.start) == [
            .report(.refused(2, outside.message)), .close(2, outside),
        ])
        _ = reducer.connectionOpened(3)
        let duplicate = ErrorFrame(code: .roleRejected, message: "mapper 0 is already connected; a second mapper with the same index is refused")
        #expect(reducer.frameReceived(.hello(TestFrames.hello(.mapper, 0)), from: 3, now: Self.start) == [
            .report(.refused(3, duplicate.message)), .close(3, duplicate),
        ])
        #expect(reducer.mapperCount == 1)
    }

    @Test("a full batch is processed at once; outcomes become acks and credit on the item's connection")
    func fullBatch() {
        var reducer = Self.machine()
        #expect(reducer.frameReceived(.items(Self.items(0...3)), from: 1, now: Self.start) == [.process(Self.pending(0...2))])
        #expect(reducer.batchProcessed(Self.pending(0...2), outcomes: [.ok, .ok, .ok], now: Self.start) == [
            .send(1, Self.acks([0, 1, 2])), .send(1, Self.credit(0...2)),
            .scheduleTimer(Self.start + .milliseconds(50)),
        ], "the 4th item waits for the batch timeout")
        #expect(reducer.itemsProcessed == 3)
    }

    @Test("a partial batch goes once its oldest item has waited the batch timeout")
    func batchTimeout() {
        var reducer = Self.machine()
        #expect(reducer.frameReceived(.items(Self.items(0...0)), from: 1, now: Self.start) == [.scheduleTimer(Self.start + .milliseconds(50))])
        #expect(reducer.timerFired(now: Self.start + .milliseconds(49)) == [.scheduleTimer(Self.start + .milliseconds(50))])
        #expect(reducer.timerFired(now: Self.start + .milliseconds(50)) == [.process(Self.pending(0...0))])
    }

    @Test("failed items are retried with backoff before newer items, keeping their order")
    func retries() {
        var reducer = Self.machine { $0.retryBackoff.initial = .milliseconds(100) }
        _ = reducer.frameReceived(.items(Self.items(0...5)), from: 1, now: Self.start)
        #expect(reducer.batchProcessed(Self.pending(0...2), outcomes: [.ok, .failed("boom"), .failed("boom")], now: Self.start) == [
            .send(1, Self.acks([0])), .send(1, Self.credit(0...0)),
            .report(.retrying(items: 2, attempt: 1, delay: .milliseconds(100), error: "boom")),
            .scheduleTimer(Self.start + .milliseconds(100)),
        ], "records 3 to 5 wait behind the retry")
        let retry = Self.pending(1...2, attempts: 1, lastError: "boom")
        #expect(reducer.timerFired(now: Self.start + .milliseconds(100)) == [.process(retry)])
        #expect(reducer.batchProcessed(retry, outcomes: [.ok, .ok], now: Self.start + .milliseconds(150)) == [
            .send(1, Self.acks([1, 2])), .send(1, Self.credit(1...2)),
            .process(Self.pending(3...5)),
        ])
    }

    @Test("after --retries, items go to the dead-letter sink and are acknowledged dead-lettered")
    func deadLetter() {
        var reducer = Self.machine { $0.retries = 1; $0.hasDeadLetterSink = true; $0.retryBackoff.initial = .milliseconds(1) }
        _ = reducer.frameReceived(.items(Self.items(0...2)), from: 1, now: Self.start)
        _ = reducer.batchProcessed(Self.pending(0...2), outcomes: [.failed("no"), .ok, .ok], now: Self.start)
        let now = Self.start + .milliseconds(10)
        #expect(reducer.timerFired(now: now) == [.process(Self.pending(0...0, attempts: 1, lastError: "no"))])
        let letters = Self.pending(0...0, attempts: 2, lastError: "still no")
        #expect(reducer.batchProcessed(Self.pending(0...0, attempts: 1, lastError: "no"), outcomes: [.failed("still no")], now: now) == [
            .report(.gaveUp(items: 1, error: "still no", deadLettered: true)), .deadLetter(letters),
        ])
        #expect(reducer.deadLettered(letters, now: now) == [.send(1, Self.acks([0], .deadLettered)), .send(1, Self.credit(0...0))])
        #expect(reducer.itemsDeadLettered == 1)
    }

    @Test("without a dead-letter sink, items that fail for good are acknowledged failed (their shard waits)")
    func failedAcks() {
        var reducer = Self.machine { $0.retries = 0 }
        _ = reducer.frameReceived(.items(Self.items(0...2)), from: 1, now: Self.start)
        #expect(reducer.batchProcessed(Self.pending(0...2), outcomes: [.ok, .failed("x"), .ok], now: Self.start) == [
            .send(1, .acks([TestFrames.ack(0), TestFrames.ack(2)])),
            .send(1, .credit(Credit(count: 2, bytes: UInt64(2 * Self.items(0...0)[0].encodedSize)))),
            .report(.gaveUp(items: 1, error: "x", deadLettered: false)),
            .send(1, Self.acks([1], .failed)), .send(1, Self.credit(1...1)),
        ])
        #expect(reducer.itemsFailed == 1)
    }

    @Test("items the mapper flagged skip the processor and go straight to the error policy")
    func poisonItems() {
        var reducer = Self.machine { $0.hasDeadLetterSink = true }
        let reason = "key json:/id: no value at /id"
        #expect(reducer.frameReceived(.items(Self.items(0...0, error: reason)), from: 1, now: Self.start) == [
            .report(.gaveUp(items: 1, error: reason, deadLettered: true)),
            .deadLetter(Self.pending(0...0, lastError: reason, error: reason)),
        ])
    }

    @Test("a mapper's unprocessed items are dropped when it disconnects (its workers resend)")
    func disconnect() {
        var reducer = Self.machine { $0.batchSize = 100 }
        _ = reducer.frameReceived(.items(Self.items(0...4)), from: 1, now: Self.start)
        #expect(reducer.connectionClosed(1, now: Self.start) == [.report(.mapperLeft(index: 0, droppedItems: 5)), .scheduleTimer(nil)])
        #expect(reducer.queuedItems == 0)
    }

    @Test("items beyond the granted credit are a protocol violation")
    func creditViolation() {
        var reducer = Self.machine { $0.mapperWindow = Credit(count: 2, bytes: 1 << 20) }
        let error = ErrorFrame(code: .protocolViolation, message: "3 items exceed the granted credit")
        #expect(reducer.frameReceived(.items(Self.items(0...2)), from: 1, now: Self.start) == [.report(.refused(1, error.message)), .close(1, error)])
    }

    @Test("drain processes a partial batch at once")
    func drain() {
        var reducer = Self.machine()
        _ = reducer.frameReceived(.items(Self.items(0...0)), from: 1, now: Self.start)
        #expect(reducer.drain(now: Self.start) == [.process(Self.pending(0...0)), .scheduleTimer(nil)])
    }
}
