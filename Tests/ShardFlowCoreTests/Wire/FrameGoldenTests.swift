import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

/// Golden bytes for every frame type, derived by hand from docs/wire-protocol.md: the encoder
/// must produce exactly these bytes and the decoder must read them back into the same value.
@Suite("Frame golden bytes")
struct FrameGoldenTests {
    static let worker: UInt64 = 0xAABB_CCDD_0000_0002

    static func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static let meowRecord = WireRecord(
        index: 7, subSequenceNumber: 0, arrivalTimestamp: 1_476_889_707_000,
        sequenceNumber: buffer("456"), partitionKey: buffer("cat"), data: buffer("meow")
    )
    static let bareRecord = WireRecord(
        index: 8, subSequenceNumber: nil, arrivalTimestamp: nil,
        sequenceNumber: buffer("457"), partitionKey: nil, data: ByteBuffer()
    )

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var frame: Frame
        var hex: String
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "HELLO",
            frame: .hello(Hello(role: .router, index: 0, instance: 0x0102_0304_0506_0708, name: "router-0")),
            hex: "00 00 00 21 01 53 46 4c 57 00 02 02 00 00 00 00 00 01 02 03 04 05 06 07 08 00 08 72 6f 75 74 65 72 2d 30 00 00"
        ),
        Case(
            name: "HELLO of a worker",
            frame: .hello(Hello(role: .worker, index: 0, instance: 0x0102_0304_0506_0708, name: "shard-0", stream: "orders")),
            hex: """
                00 00 00 26 01 53 46 4c 57 00 02 01 00 00 00 00 00 01 02 03 04 05 06 07 08
                00 07 73 68 61 72 64 2d 30 00 06 6f 72 64 65 72 73
                """
        ),
        Case(
            name: "CREDIT",
            frame: .credit(Credit(count: 100, bytes: 65536)),
            hex: "00 00 00 0d 06 00 00 00 64 00 00 00 00 00 01 00 00"
        ),
        Case(
            name: "RECORDS",
            frame: .records(epoch: 3, RecordBatch([meowRecord, bareRecord])),
            hex: """
                00 00 00 56 02 00 00 00 03 00 00 00 02
                00 00 00 00 00 00 00 07 07 00 00 00 00 00 00 00 00 00 00 01 57 dd 7c 81 f8
                03 34 35 36 00 03 63 61 74 00 00 00 04 6d 65 6f 77
                00 00 00 00 00 00 00 08 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
                03 34 35 37 00 00 00 00 00 00
                """
        ),
        Case(
            name: "ROUTED_RECORDS",
            frame: .routedRecords(RoutedRecordBatch(
                router: 1, worker: worker, shardId: "shard-0", stream: "orders", records: RecordBatch([meowRecord]))),
            hex: """
                00 00 00 49 03 00 01 aa bb cc dd 00 00 00 02 07 73 68 61 72 64 2d 30 00 06 6f 72 64 65 72 73 00 00 00 01
                00 00 00 00 00 00 00 07 07 00 00 00 00 00 00 00 00 00 00 01 57 dd 7c 81 f8
                03 34 35 36 00 03 63 61 74 00 00 00 04 6d 65 6f 77
                """
        ),
        Case(
            name: "ITEMS",
            frame: .items([
                WireItem(
                    token: Token(router: 1, worker: worker, record: 7, item: 0, itemCount: 2),
                    subSequenceNumber: 0, arrivalTimestamp: 1_476_889_707_000,
                    shardId: buffer("shard-0"), stream: buffer("orders"), sequenceNumber: buffer("456"),
                    partitionKey: buffer("pk1"), key: buffer("pk1"), data: buffer("data1")
                ),
                WireItem(
                    token: Token(router: 1, worker: worker, record: 7, item: 1, itemCount: 2),
                    subSequenceNumber: nil, arrivalTimestamp: nil,
                    shardId: buffer("shard-0"), sequenceNumber: buffer("456"),
                    partitionKey: nil, key: ByteBuffer(), error: "no field /id", isDynamoDBRecord: true, data: buffer("{}")
                ),
            ]),
            hex: """
                00 00 00 a8 04 00 00 00 02
                00 01 aa bb cc dd 00 00 00 02 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 02
                07 00 00 00 00 00 00 00 00 00 00 01 57 dd 7c 81 f8
                07 73 68 61 72 64 2d 30 00 06 6f 72 64 65 72 73
                03 34 35 36 00 03 70 6b 31 00 03 70 6b 31 00 00 00 05 64 61 74 61 31
                00 01 aa bb cc dd 00 00 00 02 00 00 00 00 00 00 00 07 00 00 00 01 00 00 00 02
                18 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
                07 73 68 61 72 64 2d 30 00 00 03 34 35 36 00 00 00 00
                00 0c 6e 6f 20 66 69 65 6c 64 20 2f 69 64 00 00 00 02 7b 7d
                """
        ),
        Case(
            name: "ACKS",
            frame: .acks([
                Ack(token: Token(router: 1, worker: worker, record: 7, item: 0, itemCount: 2), status: .ok),
                Ack(token: Token(router: 1, worker: worker, record: 9, item: 0, itemCount: 0), status: .deadLettered),
                Ack(token: Token(router: 0, worker: 5, record: 3, item: 1, itemCount: 3), status: .failed),
            ]),
            hex: """
                00 00 00 56 05 00 00 00 03
                00 01 aa bb cc dd 00 00 00 02 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 02 00
                00 01 aa bb cc dd 00 00 00 02 00 00 00 00 00 00 00 09 00 00 00 00 00 00 00 00 02
                00 00 00 00 00 00 00 00 00 05 00 00 00 00 00 00 00 03 00 00 00 01 00 00 00 03 01
                """
        ),
        Case(
            name: "PEER_LOST",
            frame: .peerLost(PeerLost(role: .reducer, index: 3, reason: "connection reset")),
            hex: "00 00 00 18 07 04 00 00 00 03 00 10 63 6f 6e 6e 65 63 74 69 6f 6e 20 72 65 73 65 74"
        ),
        Case(
            name: "DRAIN",
            frame: .drain(Drain(reason: "SIGTERM")),
            hex: "00 00 00 0a 08 00 07 53 49 47 54 45 52 4d"
        ),
        Case(
            name: "ERROR",
            frame: .error(ErrorFrame(code: .versionMismatch, message: "version 2 not supported")),
            hex: "00 00 00 1c 09 00 01 00 17 76 65 72 73 69 6f 6e 20 32 20 6e 6f 74 20 73 75 70 70 6f 72 74 65 64"
        ),
    ]

    @Test("every frame type is covered")
    func coversEveryType() {
        #expect(Set(Self.cases.map(\.frame.type)) == Set(FrameType.allCases))
    }

    @Test("encoder writes the golden bytes", arguments: cases)
    func encodes(_ golden: Case) {
        var encoder = FrameEncoder()
        encoder.encode(golden.frame)
        #expect(encoder.take().hexString == ByteBuffer(hex: golden.hex).hexString)
    }

    @Test("decoder reads the golden bytes", arguments: cases)
    func decodes(_ golden: Case) throws {
        var buffer = ByteBuffer(hex: golden.hex)
        let frame = try FrameDecoder().decode(&buffer)
        #expect(frame == golden.frame)
        #expect(buffer.readableBytes == 0)
    }

    @Test("a decoded record batch iterates back to the records it was made of")
    func recordBatchIterates() throws {
        var buffer = ByteBuffer(hex: Self.cases.first { $0.name == "RECORDS" }!.hex)
        guard case .records(_, let batch) = try FrameDecoder().decode(&buffer) else {
            Issue.record("not RECORDS")
            return
        }
        #expect(Array(batch) == [Self.meowRecord, Self.bareRecord])
        #expect(batch.count == 2)
        let (head, tail) = batch.split(after: 1)
        #expect(Array(head) == [Self.meowRecord] && Array(tail) == [Self.bareRecord])
        #expect(head.byteCount == Self.meowRecord.encodedSize)
        #expect(batch.byteCount(ofFirst: 1) == Self.meowRecord.encodedSize)
        #expect(batch.split(after: 0).0.isEmpty && batch.split(after: 2).1.isEmpty)
    }

    @Test("a short read returns nil and consumes nothing", arguments: cases)
    func shortRead(_ golden: Case) throws {
        let bytes = [UInt8](hex: golden.hex)
        for cut in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            #expect(try FrameDecoder().decode(&buffer) == nil)
            #expect(buffer.readerIndex == 0)
        }
    }
}

