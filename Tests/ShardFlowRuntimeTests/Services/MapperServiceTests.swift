import Logging
import NIOCore
import NIOEmbedded
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore
@testable import ShardFlowRuntime

/// The mapper's I/O layer performing its state machine's actions on embedded channels.
@Suite("Mapper service")
struct MapperServiceTests {
    @Test("records from a router become ITEMS to the reducer; acks go back to the router")
    func endToEnd() throws {
        let loop = EmbeddedEventLoop()
        let configuration = MapperService.Configuration(index: 0, routerSockets: ["/r"], reducerSockets: ["/d"], extractor: Extractor())
        let service = MapperService(configuration: configuration, eventLoop: loop, logger: Logger(label: "test"))
        let router = EmbeddedPeer(loop: loop)
        let reducer = EmbeddedPeer(loop: loop)
        try service.attach(router.channel, as: .router(index: 0))
        try service.attach(reducer.channel, as: .reducer(index: 0))
        try router.connect()
        try reducer.connect()
        guard case .hello(let hello) = try router.received().first else {
            Issue.record("no HELLO to the router")
            return
        }
        #expect(hello.role == .mapper && hello.index == 0)
        #expect(try reducer.received() == [.hello(hello)])

        try router.send(.hello(TestFrames.hello(.router, 0, instance: 0x0000_0001_0000_0002)))
        #expect(try router.received() == [.credit(FlowDefaults.routerWindow)])
        try reducer.send(.hello(TestFrames.hello(.reducer, 0)), .credit(Credit(count: 100, bytes: 1 << 20)))
        #expect(try reducer.received() == [])

        let worker: UInt64 = 0x0000_0002 << 32 | 1
        let records = TestFrames.records(0...2)
        try router.send(.routedRecords(RoutedRecordBatch(router: 0, worker: worker, shardId: "shard-A", records: records)))
        let items = records.map { record in
            WireItem(token: Token(router: 0, worker: worker, record: record.index, item: 0, itemCount: 1),
                     subSequenceNumber: 0, arrivalTimestamp: nil, shardId: ByteBuffer(string: "shard-A"),
                     sequenceNumber: record.sequenceNumber, partitionKey: record.partitionKey, key: record.partitionKey!, data: record.data)
        }
        #expect(try reducer.received() == [.items(items)])
        #expect(try router.received() == [.credit(Credit(count: 3, bytes: UInt64(records.byteCount)))])

        let acks = AckBatch((0...2 as ClosedRange<UInt64>).map { TestFrames.ack($0, worker: worker) })
        try reducer.send(.acks(acks))
        #expect(try router.received() == [.acks(acks)])
    }
}
