import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore
@testable import ShardFlowRuntime

/// Runs blocking work on the event loop itself, so an `EmbeddedEventLoop` test stays on one thread.
struct InlineExecutor: BlockingExecutor {
    let eventLoop: EventLoop

    func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) -> EventLoopFuture<Value> {
        eventLoop.makeCompletedFuture { try work() }
    }
}

/// Records what it was given; fails the items whose data is "fail".
final class RecordingProcessor: BatchProcessor, @unchecked Sendable {
    var batches: [[String]] = []

    func process(_ items: [ProcessorItem]) throws -> BatchResult {
        batches.append(items.map { String(buffer: $0.data) })
        var failures: [Int: String] = [:]
        for (position, item) in items.enumerated() where String(buffer: item.data) == "fail" { failures[position] = "asked to fail" }
        return BatchResult(failures: failures)
    }
}

/// The reducer's I/O layer performing its state machine's actions on an embedded channel.
@Suite("Reducer service")
struct ReducerServiceTests {
    static func service(_ processor: RecordingProcessor, loop: EmbeddedEventLoop) throws -> ReducerService {
        var configuration = ReducerService.Configuration(index: 0, listen: .path("/unused"))
        configuration.machine.batchSize = 2
        configuration.machine.batchTimeout = .milliseconds(20)
        configuration.machine.mapperWindow = Credit(count: 10, bytes: 1 << 20)
        configuration.machine.retries = 0
        return try ReducerService(configuration: configuration, processor: processor, executor: InlineExecutor(eventLoop: loop),
                                  logger: Logger(label: "test"))
    }

    @Test("items are processed in batches and acknowledged with credit on their connection")
    func batches() throws {
        let loop = EmbeddedEventLoop()
        let processor = RecordingProcessor()
        let service = try Self.service(processor, loop: loop)
        let mapper = EmbeddedPeer(loop: loop)
        try service.attach(mapper.channel)
        try mapper.connect()
        try mapper.send(.hello(TestFrames.hello(.mapper, 0)))
        guard case .hello = try mapper.received().first else {
            Issue.record("no HELLO")
            return
        }
        let items = [TestFrames.item(record: 0, data: "a"), TestFrames.item(record: 1, data: "b"), TestFrames.item(record: 2, data: "fail")]
        try mapper.send(.items(count: 3, bytes: TestFrames.itemBytes(items)))
        #expect(processor.batches == [["a", "b"]])
        #expect(try mapper.received() == [
            .acks([TestFrames.ack(0), TestFrames.ack(1)]),
            .credit(Credit(count: 2, bytes: UInt64(items[0].encodedSize + items[1].encodedSize))),
        ])
        loop.advanceTime(by: .milliseconds(20))
        #expect(processor.batches == [["a", "b"], ["fail"]], "the partial batch goes after the batch timeout")
        #expect(try mapper.received() == [
            .acks([TestFrames.ack(2, .failed)]), .credit(Credit(count: 1, bytes: UInt64(items[2].encodedSize))),
        ], "retries 0 and no dead-letter sink: acknowledged failed")
    }
}

/// Reports a failure at a position no item of the batch has (a faulty custom processor).
final class OutOfRangeProcessor: BatchProcessor, @unchecked Sendable {
    func process(_ items: [ProcessorItem]) throws -> BatchResult {
        BatchResult(failures: [items.count + 5: "no such item", 0: "first failed"])
    }
}

extension ReducerServiceTests {
    /// A reducer (batches of 2, no retries) on `loop` (the mapper's channel
    /// keeps it), its connected mapper, and the two items ("a", "b") the mapper sent.
    static func batchOfTwo(to processor: BatchProcessor, loop: EmbeddedEventLoop, executor: any BlockingExecutor) throws -> (EmbeddedPeer, [WireItem]) {
        var configuration = ReducerService.Configuration(index: 0, listen: .path("/unused"))
        configuration.machine.batchSize = 2
        configuration.machine.mapperWindow = Credit(count: 10, bytes: 1 << 20)
        configuration.machine.retries = 0
        let service = try ReducerService(configuration: configuration, processor: processor, executor: executor, logger: Logger(label: "test"))
        let mapper = EmbeddedPeer(loop: loop)
        try service.attach(mapper.channel)
        try mapper.connect()
        try mapper.send(.hello(TestFrames.hello(.mapper, 0)))
        _ = try mapper.received()
        let items = [TestFrames.item(record: 0, data: "a"), TestFrames.item(record: 1, data: "b")]
        try mapper.send(.items(count: 2, bytes: TestFrames.itemBytes(items)))
        return (mapper, items)
    }

    @Test("a failure at a position outside the batch fails nothing; the real positions still count")
    func failureOutsideTheBatch() throws {
        let loop = EmbeddedEventLoop()
        let (mapper, _) = try Self.batchOfTwo(to: OutOfRangeProcessor(), loop: loop, executor: InlineExecutor(eventLoop: loop))
        let received = try mapper.received()
        #expect(received.contains(.acks([TestFrames.ack(1)])), "the second item succeeded")
        #expect(received.contains(.acks([TestFrames.ack(0, .failed)])), "the first failed (retries 0, no dead-letter sink)")
    }
}

/// Counts the work handed to it, then runs it on the event loop like ``InlineExecutor``.
final class CountingExecutor: BlockingExecutor, @unchecked Sendable {
    let eventLoop: EventLoop
    private let count = NIOLockedValueBox(0)
    var runs: Int { count.withLockedValue { $0 } }

    init(eventLoop: EventLoop) { self.eventLoop = eventLoop }

    func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) -> EventLoopFuture<Value> {
        count.withLockedValue { $0 += 1 }
        return eventLoop.makeCompletedFuture { try work() }
    }
}

/// A ``RecordingProcessor`` that declares it never blocks.
final class NonBlockingRecordingProcessor: BatchProcessor, @unchecked Sendable {
    let recording = RecordingProcessor()
    var isNonBlocking: Bool { true }

    func process(_ items: [ProcessorItem]) throws -> BatchResult { try recording.process(items) }
}

extension ReducerServiceTests {
    @Test("a processor that declares it never blocks runs on the event loop, as its next task; any other goes to the processor thread")
    func nonBlockingProcessorsRunOnTheEventLoop() throws {
        let loop = EmbeddedEventLoop()
        let executor = CountingExecutor(eventLoop: loop)
        let processor = NonBlockingRecordingProcessor()
        let (mapper, items) = try Self.batchOfTwo(to: processor, loop: loop, executor: executor)
        #expect(processor.recording.batches.isEmpty, "not inside the frame's handling: after it, like a hand-off")
        loop.run()
        #expect(processor.recording.batches == [["a", "b"]])
        #expect(executor.runs == 0, "the processor thread was not used")
        #expect(try mapper.received() == [
            .acks([TestFrames.ack(0), TestFrames.ack(1)]),
            .credit(Credit(count: 2, bytes: UInt64(items[0].encodedSize + items[1].encodedSize))),
        ])

        let blockingLoop = EmbeddedEventLoop()
        let blockingExecutor = CountingExecutor(eventLoop: blockingLoop)
        let blocking = RecordingProcessor()
        let (blockingMapper, _) = try Self.batchOfTwo(to: blocking, loop: blockingLoop, executor: blockingExecutor)
        #expect(blocking.batches == [["a", "b"]])
        #expect(blockingExecutor.runs == 1, "one hand-off per batch")
        #expect(try blockingMapper.received().contains(.acks([TestFrames.ack(0), TestFrames.ack(1)])))
        #expect(DiscardProcessor().isNonBlocking && !SpinProcessor(microseconds: 20).isNonBlocking)
    }
}
