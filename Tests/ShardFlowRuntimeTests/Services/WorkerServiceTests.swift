import Logging
import NIOCore
import NIOEmbedded
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore
@testable import ShardFlowRuntime

/// The worker's I/O layer: daemon lines in, answers on its stdout pipe, records to the router.
@Suite("Worker service")
struct WorkerServiceTests {
    static func stdout(_ pipe: EmbeddedChannel) throws -> [String] {
        var text = ""
        while let part = try pipe.readOutbound(as: ByteBuffer.self) { text += String(buffer: part) }
        return text.split(separator: "\n").map(String.init)
    }

    @Test("a processRecords line goes to the router as RECORDS and is answered; acks lead to the checkpoint")
    func endToEnd() throws {
        let loop = EmbeddedEventLoop()
        var configuration = WorkerService.Configuration(routerSockets: ["/unused"])
        configuration.machine.checkpointInterval = .zero
        let service = WorkerService(configuration: configuration, eventLoop: loop, logger: Logger(label: "test"))
        service.dialsRouters = false
        let pipe = EmbeddedChannel(loop: loop)
        try pipe.connect(to: SocketAddress(unixDomainSocketPath: "/tmp/pipe")).wait()
        service.pipe = pipe

        service.lineReceived(ByteBuffer(string: #"{"action":"initialize","shardId":"shard-9","sequenceNumber":"TRIM_HORIZON"}"#))
        #expect(try Self.stdout(pipe) == [#"{"action":"status","responseFor":"initialize"}"#])

        let router = EmbeddedPeer(loop: loop)
        try service.attachRouter(router.channel)
        try router.connect()
        guard case .hello(let hello) = try router.received().first else {
            Issue.record("no HELLO to the router")
            return
        }
        #expect(hello.role == .worker && hello.name == "shard-9")
        try router.send(.hello(TestFrames.hello(.router, 0)), .credit(Credit(count: 10, bytes: 1 << 20)))

        service.lineReceived(ByteBuffer(string: #"{"action":"processRecords","records":[{"data":"aGk=","partitionKey":"k","sequenceNumber":"17","subSequenceNumber":0,"approximateArrivalTimestamp":5}]}"#))
        #expect(try Self.stdout(pipe) == [#"{"action":"status","responseFor":"processRecords"}"#])
        let record = WireRecord(index: 0, subSequenceNumber: 0, arrivalTimestamp: 5, sequenceNumber: ByteBuffer(string: "17"),
                                partitionKey: ByteBuffer(string: "k"), data: ByteBuffer(string: "hi"))
        #expect(try router.received() == [.records(epoch: 0, RecordBatch([record]))])

        try router.send(.acks([TestFrames.ack(0)]))
        service.lineReceived(ByteBuffer(string: #"{"action":"processRecords","records":[]}"#))
        #expect(try Self.stdout(pipe) == [#"{"action":"checkpoint","sequenceNumber":"17","subSequenceNumber":0}"#])
    }
}
