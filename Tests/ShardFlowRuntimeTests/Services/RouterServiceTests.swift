import Logging
import NIOCore
import NIOEmbedded
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore
@testable import ShardFlowRuntime

/// The router's I/O layer performing its state machine's actions on embedded channels.
@Suite("Router service")
struct RouterServiceTests {
    @Test("HELLO and credit reach a worker; its records reach a mapper as ROUTED_RECORDS; acks come back")
    func endToEnd() throws {
        let loop = EmbeddedEventLoop()
        var configuration = RouterService.Configuration(index: 0, listen: .path("/unused"))
        configuration.workerWindow = Credit(count: 100, bytes: 1 << 20)
        let service = RouterService(configuration: configuration, eventLoop: loop, logger: Logger(label: "test"))

        let worker = EmbeddedPeer(loop: loop)
        try service.attach(worker.channel)
        try worker.connect()
        try worker.send(.hello(TestFrames.hello(.worker, name: "shard-A")))
        let greeting = try worker.received()
        guard case .hello(let hello) = greeting.first, greeting.count == 2 else {
            Issue.record("expected HELLO and CREDIT, got \(greeting)")
            return
        }
        #expect(hello.role == .router)
        #expect(greeting[1] == .credit(Credit(count: 100, bytes: 1 << 20)))

        let mapper = EmbeddedPeer(loop: loop)
        try service.attach(mapper.channel)
        try mapper.connect()
        try mapper.send(.hello(TestFrames.hello(.mapper, 0)))
        #expect(try mapper.received() == [.hello(hello)])

        let records = TestFrames.records(0...4)
        try worker.send(.records(epoch: 0, records))
        try mapper.send(.credit(Credit(count: 10, bytes: 1 << 20)))
        let workerId = UInt64(UInt32(truncatingIfNeeded: hello.instance)) << 32 | 1
        #expect(try mapper.received() == [.routedRecords(RoutedRecordBatch(router: 0, worker: workerId, shardId: "shard-A", records: records))])
        #expect(try worker.received() == [.credit(Credit(count: 5, bytes: UInt64(records.byteCount)))])

        let acks = AckBatch((0...4 as ClosedRange<UInt64>).map { TestFrames.ack($0, worker: workerId) })
        try mapper.send(.acks(acks))
        #expect(try worker.received() == [.acks(acks)])
    }

    @Test("a malformed frame closes only that connection, with an ERROR naming it")
    func malformedFrame() throws {
        let loop = EmbeddedEventLoop()
        let service = RouterService(configuration: .init(index: 0, listen: .path("/unused")), eventLoop: loop, logger: Logger(label: "test"))
        let peer = EmbeddedPeer(loop: loop)
        try service.attach(peer.channel)
        try peer.connect()
        try peer.channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 1, 0x7F]))
        let frames = try peer.received()
        guard case .error(let error) = frames.last else {
            Issue.record("no ERROR frame: \(frames)")
            return
        }
        #expect(error.code == .malformedFrame)
        #expect(error.message.contains("unknown frame type 0x7f"))
        #expect(!peer.channel.isActive)
    }
}
