import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

/// Transcripts of the reducer: frames, processor results and timers in, exact actions out.
@Suite("Reducer state machine")
struct ReducerStateMachineTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// The wall clock at `start`, epoch milliseconds.
    static let wallClock: Int64 = 1_800_000_000_000

    /// A reducer (batches of 3, 50 ms timeout, window of 10 items) with mapper 0 on connection 1.
    static func machine(_ configure: (inout ReducerStateMachine.Configuration) -> Void = { _ in }) -> ReducerStateMachine {
        var configuration = ReducerStateMachine.Configuration(index: 0, instance: 1)
        configuration.batchSize = 3
        configuration.batchTimeout = .milliseconds(50)
        configuration.mapperWindow = Credit(count: 10, bytes: 1 << 20)
        configure(&configuration)
        var reducer = ReducerStateMachine(configuration: configuration)
        _ = reducer.connectionOpened(1)
        _ = reducer.frameReceived(.hello(TestFrames.hello(.mapper, 0)), from: 1, now: start, epochMilliseconds: wallClock)
        return reducer
    }

    static func items(_ records: ClosedRange<UInt64>, key: (UInt64) -> String = { _ in "k" }, error: String? = nil) -> [WireItem] {
        records.map { TestFrames.item(record: $0, key: key($0), error: error) }
    }

    /// What the reducer hands to the processor for these items arriving at `arrival`.
    static func pending(_ records: ClosedRange<UInt64>, key: (UInt64) -> String = { _ in "k" }, arrival: NIODeadline = start,
                        attempts: Int = 0, lastError: String? = nil, reason: DeadLetterReason? = nil,
                        error: String? = nil) -> [ReducerStateMachine.PendingItem] {
        items(records, key: key, error: error).map {
            ReducerStateMachine.PendingItem(item: $0, source: 1, attempts: attempts, lastError: lastError, reason: reason, arrival: arrival)
        }
    }

    /// Records 0… alternate keys "a" and "b".
    static let alternating: @Sendable (UInt64) -> String = { $0 % 2 == 0 ? "a" : "b" }

    static func acks(_ records: [UInt64], _ status: AckStatus = .ok) -> OutboundFrame {
        .acks(AckBatch(records.map { TestFrames.ack($0, status) }))
    }

    static func credit(_ records: ClosedRange<UInt64>) -> OutboundFrame {
        .credit(Credit(count: UInt32(records.count), bytes: UInt64(items(records).reduce(0) { $0 + $1.encodedSize })))
    }

    @Test("a mapper gets its credit window after HELLO; other roles are refused")
    func handshake() {
        var reducer = ReducerStateMachine(configuration: .init(index: 0, instance: 1))
        #expect(reducer.connectionOpened(1) == [.send(1, .hello(reducer.hello))])
        #expect(reducer.frameReceived(.hello(TestFrames.hello(.mapper, 4)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock) == [
            .send(1, .credit(reducer.configuration.mapperWindow)), .report(.mapperJoined(index: 4)),
        ])
        _ = reducer.connectionOpened(2)
        let error = ErrorFrame(code: .roleRejected, message: "a reducer accepts mappers, not a worker")
        #expect(reducer.frameReceived(.hello(TestFrames.hello(.worker)), from: 2, now: Self.start, epochMilliseconds: Self.wallClock) == [
            .report(.refused(2, error.message)), .close(2, error),
        ])
        #expect(reducer.mapperCount == 1)
    }

    @Test("a mapper outside the group's count, or a second one with an index already connected, is refused")
    func strayMappers() {
        var reducer = Self.machine { $0.mapperCount = 2 }
        _ = reducer.connectionOpened(2)
        let outside = ErrorFrame(code: .roleRejected, message: "mapper 7 is outside this group's mappers 0..<2 (this reducer was started with --mappers 2)")
        #expect(reducer.frameReceived(.hello(TestFrames.hello(.mapper, 7)), from: 2, now: Self.start, epochMilliseconds: Self.wallClock) == [
            .report(.refused(2, outside.message)), .close(2, outside),
        ])
        _ = reducer.connectionOpened(3)
        let duplicate = ErrorFrame(code: .roleRejected, message: "mapper 0 is already connected; a second mapper with the same index is refused")
        #expect(reducer.frameReceived(.hello(TestFrames.hello(.mapper, 0)), from: 3, now: Self.start, epochMilliseconds: Self.wallClock) == [
            .report(.refused(3, duplicate.message)), .close(3, duplicate),
        ])
        #expect(reducer.mapperCount == 1)
    }

    @Test("a full batch is processed at once; outcomes become acks and credit on the item's connection")
    func fullBatch() {
        var reducer = Self.machine()
        #expect(reducer.frameReceived(.items(Self.items(0...3)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock) == [.process(Self.pending(0...2))])
        #expect(reducer.batchProcessed(Self.pending(0...2), failures: [:], now: Self.start) == [
            .send(1, Self.acks([0, 1, 2])), .send(1, Self.credit(0...2)),
            .scheduleTimer(Self.start + .milliseconds(50)),
        ], "the 4th item waits for the batch timeout")
        #expect(reducer.itemsProcessed == 3)
    }

    @Test("a partial batch goes once its oldest item has waited the batch timeout")
    func batchTimeout() {
        var reducer = Self.machine()
        #expect(reducer.frameReceived(.items(Self.items(0...0)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock) == [.scheduleTimer(Self.start + .milliseconds(50))])
        #expect(reducer.timerFired(now: Self.start + .milliseconds(49)) == [.scheduleTimer(Self.start + .milliseconds(50))])
        #expect(reducer.timerFired(now: Self.start + .milliseconds(50)) == [.process(Self.pending(0...0))])
    }

    @Test("by default (no batch timeout) a free reducer processes at once what arrived; items gather while it is busy (group commit)")
    func groupCommit() {
        var reducer = Self.machine { $0.batchTimeout = ProcessingDefaults.batchTimeout; $0.batchSize = 100 }
        #expect(ProcessingDefaults.batchTimeout == .zero)
        #expect(reducer.frameReceived(.items(Self.items(0...0)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock)
                == [.process(Self.pending(0...0))], "one item, processed at once: no wait for a batch to fill")
        #expect(reducer.frameReceived(.items(Self.items(1...4)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock) == [],
                "busy: the items gather")
        #expect(reducer.frameReceived(.items(Self.items(5...7)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock) == [])
        #expect(reducer.batchProcessed(Self.pending(0...0), failures: [:], now: Self.start) == [
            .send(1, Self.acks([0])), .send(1, Self.credit(0...0)), .process(Self.pending(1...7)),
        ], "the next batch takes everything that gathered")
    }

    @Test("a failure holds back its key: the failed item and the key's later items wait for the retry, in order")
    func retries() {
        var reducer = Self.machine { $0.retryBackoff.initial = .milliseconds(100) }
        _ = reducer.frameReceived(.items(Self.items(0...5)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock)
        #expect(reducer.batchProcessed(Self.pending(0...2), failures: [1: "boom"], now: Self.start) == [
            .send(1, Self.acks([0])), .send(1, Self.credit(0...0)),
            .report(.retrying(items: 1, heldBack: 1, attempt: 1, delay: .milliseconds(100), error: "boom")),
            .scheduleTimer(Self.start + .milliseconds(100)),
        ], "record 2 ran after the failed record 1 of its key: it runs again after it; records 3 to 5 wait behind them")
        #expect(reducer.heldItems == 5 && reducer.heldKeys == 1)
        #expect(reducer.itemsRetried == 1)
        let held = reducer.longestHeld(limit: 5)
        #expect(held.count == 1 && held[0].item.item.token.record == 1 && held[0].item.attempts == 1 && held[0].since == Self.start
                && held[0].waiting == 5, "the failed item heads its key's hold, with since when")
        let due = Self.start + .milliseconds(100)
        let retry = Self.pending(1...1, attempts: 1, lastError: "boom") + Self.pending(2...3)
        #expect(reducer.timerFired(now: due) == [.process(retry)])
        #expect(reducer.batchProcessed(retry, failures: [:], now: due) == [
            .send(1, Self.acks([1, 2, 3])), .send(1, Self.credit(1...3)),
            .process(Self.pending(4...5)),
        ])
    }

    @Test("other keys go on while one key waits for its retry")
    func otherKeysGoOn() {
        var reducer = Self.machine { $0.retryBackoff.initial = .milliseconds(100) }
        _ = reducer.frameReceived(.items(Self.items(0...5, key: Self.alternating)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock)
        // 0 a, 1 b, 2 a: "a" fails at record 0.
        #expect(reducer.batchProcessed(Self.pending(0...2, key: Self.alternating), failures: [0: "a down"], now: Self.start) == [
            .send(1, Self.acks([1])), .send(1, Self.credit(1...1)),
            .report(.retrying(items: 1, heldBack: 1, attempt: 1, delay: .milliseconds(100), error: "a down")),
            .process(Self.pending(3...3, key: Self.alternating) + Self.pending(5...5, key: Self.alternating)),
        ], "record 4 (key a) joins the hold; records 3 and 5 (key b) are processed at once")
        #expect(reducer.heldItems == 3)
        let now = Self.start + .milliseconds(10)
        #expect(reducer.batchProcessed(Self.pending(3...3, key: Self.alternating) + Self.pending(5...5, key: Self.alternating),
                                       failures: [:], now: now) == [
            .send(1, Self.acks([3, 5])), .send(1, .credit(Credit(count: 2, bytes: UInt64(2 * Self.items(0...0)[0].encodedSize)))),
            .scheduleTimer(Self.start + .milliseconds(100)),
        ])
        let due = Self.start + .milliseconds(100)
        let retry = Self.pending(0...0, key: Self.alternating, attempts: 1, lastError: "a down")
            + Self.pending(2...2, key: Self.alternating) + Self.pending(4...4, key: Self.alternating)
        #expect(reducer.timerFired(now: due) == [.process(retry)])
    }

    @Test("after --retries, the failed item goes to the dead-letter sink; the items held behind it go on")
    func deadLetter() {
        var reducer = Self.machine { $0.retries = 1; $0.hasDeadLetterSink = true; $0.retryBackoff.initial = .milliseconds(1) }
        _ = reducer.frameReceived(.items(Self.items(0...2)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock)
        _ = reducer.batchProcessed(Self.pending(0...2), failures: [0: "no"], now: Self.start)
        let now = Self.start + .milliseconds(10)
        let retry = Self.pending(0...0, attempts: 1, lastError: "no") + Self.pending(1...2)
        #expect(reducer.timerFired(now: now) == [.process(retry)])
        let letters = Self.pending(0...0, attempts: 2, lastError: "still no", reason: .failed)
        #expect(reducer.batchProcessed(retry, failures: [0: "still no"], now: now) == [
            .send(1, Self.acks([1, 2])), .send(1, Self.credit(1...2)),
            .report(.gaveUp(items: 1, error: "still no", deadLettered: true)), .deadLetter(letters),
        ])
        #expect(reducer.deadLettered(letters, now: now) == [.send(1, Self.acks([0], .deadLettered)), .send(1, Self.credit(0...0))])
        #expect(reducer.itemsDeadLettered == 1 && reducer.isIdle)
        #expect(reducer.deadLetteredByReason == [.failed: 1])
    }

    @Test("without a dead-letter sink, items that fail for good are acknowledged failed (their shard waits)")
    func failedAcks() {
        var reducer = Self.machine { $0.retries = 0 }
        _ = reducer.frameReceived(.items(Self.items(0...2, key: Self.alternating)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock)
        #expect(reducer.batchProcessed(Self.pending(0...2, key: Self.alternating), failures: [1: "x"], now: Self.start) == [
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
        #expect(reducer.frameReceived(.items(Self.items(0...0, error: reason)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock) == [
            .report(.gaveUp(items: 1, error: reason, deadLettered: true)),
            .deadLetter(Self.pending(0...0, lastError: reason, reason: .invalid, error: reason)),
        ])
    }

    @Test("--max-record-age: items whose records are older when their turn comes are dead-lettered as expired")
    func maxRecordAge() {
        var reducer = Self.machine { $0.maxRecordAge = .seconds(60); $0.hasDeadLetterSink = true; $0.batchSize = 10 }
        // Records that arrived in the stream 70 s, 59.990 s and 1 s before the wall clock.
        let old = TestFrames.item(record: 0, key: "a", arrivalTimestamp: Self.wallClock - 70_000)
        let aging = TestFrames.item(record: 1, key: "b", arrivalTimestamp: Self.wallClock - 59_990)
        let fresh = TestFrames.item(record: 2, key: "c", arrivalTimestamp: Self.wallClock - 1_000)
        let noTimestamp = TestFrames.item(record: 3, key: "d")
        #expect(reducer.frameReceived(.items([old, aging, fresh, noTimestamp]), from: 1, now: Self.start, epochMilliseconds: Self.wallClock)
            == [.scheduleTimer(Self.start + .milliseconds(50))])
        // At the batch timeout the second record has turned 60.040 s old too.
        let then = Self.start + .milliseconds(50)
        let actions = reducer.timerFired(now: then)
        guard case .deadLetter(let letters) = actions.first(where: { if case .deadLetter = $0 { true } else { false } }),
              case .process(let batch) = actions.first(where: { if case .process = $0 { true } else { false } })
        else {
            Issue.record("expected a dead-letter write and a batch: \(actions)")
            return
        }
        #expect(actions.contains(.report(.expired(items: 2))))
        #expect(letters.map(\.item.token.record) == [0, 1])
        #expect(letters.allSatisfy { $0.reason == .expired && $0.lastError == "its record was older than --max-record-age 1m" })
        #expect(batch.map(\.item.token.record) == [2, 3])
        #expect(reducer.itemsExpired == 2)
        #expect(reducer.deadLettered(letters, now: then) == [.send(1, Self.acks([0, 1], .deadLettered)), .send(1, Self.credit(0...1))])
    }

    @Test("a held item that outlives --max-record-age is dead-lettered when its retry comes")
    func heldItemExpires() {
        var reducer = Self.machine {
            $0.maxRecordAge = .seconds(1); $0.hasDeadLetterSink = true; $0.retryBackoff.initial = .seconds(2)
        }
        let item = TestFrames.item(record: 0, key: "a", arrivalTimestamp: Self.wallClock)
        _ = reducer.frameReceived(.items([item]), from: 1, now: Self.start, epochMilliseconds: Self.wallClock)
        let first = reducer.timerFired(now: Self.start + .milliseconds(50))
        guard case .process(let batch) = first.first else {
            Issue.record("expected a batch: \(first)")
            return
        }
        _ = reducer.batchProcessed(batch, failures: [0: "down"], now: Self.start + .milliseconds(60))
        let due = Self.start + .milliseconds(60) + .seconds(2)
        let actions = reducer.timerFired(now: due)
        #expect(actions.contains(.report(.expired(items: 1))))
        #expect(!actions.contains { if case .process = $0 { true } else { false } })
    }

    @Test("a mapper's unprocessed items are dropped when it disconnects (its workers resend)")
    func disconnect() {
        var reducer = Self.machine { $0.batchSize = 100 }
        _ = reducer.frameReceived(.items(Self.items(0...4)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock)
        #expect(reducer.connectionClosed(1, now: Self.start) == [.report(.mapperLeft(index: 0, droppedItems: 5)), .scheduleTimer(nil)])
        #expect(reducer.queuedItems == 0)
    }

    @Test("items beyond the granted credit are a protocol violation")
    func creditViolation() {
        var reducer = Self.machine { $0.mapperWindow = Credit(count: 2, bytes: 1 << 20) }
        let error = ErrorFrame(code: .protocolViolation, message: "3 items exceed the granted credit")
        #expect(reducer.frameReceived(.items(Self.items(0...2)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock) == [.report(.refused(1, error.message)), .close(1, error)])
    }

    @Test("drain processes a partial batch at once")
    func drain() {
        var reducer = Self.machine()
        _ = reducer.frameReceived(.items(Self.items(0...0)), from: 1, now: Self.start, epochMilliseconds: Self.wallClock)
        #expect(reducer.drain(now: Self.start) == [.process(Self.pending(0...0)), .scheduleTimer(nil)])
    }
}
