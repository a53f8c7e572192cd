import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Acknowledgement batches")
struct AckBatchTests {
    static let acks = (0..<7 as Range<UInt64>).map {
        Ack(token: Token(router: UInt16($0 % 2), worker: 0xABCD_0000_0000 + $0 % 3, record: 100 + $0, item: UInt32($0 % 2), itemCount: 2),
            status: $0 == 4 ? .failed : .ok)
    }

    @Test("acknowledgements keep their fields and order; the wire bytes are the frame's")
    func roundTrip() throws {
        let batch = AckBatch(Self.acks)
        #expect(Array(batch) == Self.acks && batch.count == 7)
        #expect(batch.bytes.readableBytes == 7 * Ack.encodedSize)
        for (position, ack) in Self.acks.enumerated() {
            #expect(batch.router(at: position) == ack.token.router && batch.worker(at: position) == ack.token.worker)
        }
        var fields: [(UInt64, UInt32, UInt32, AckStatus)] = []
        batch.forEachAck { fields.append(($0, $1, $2, $3)) }
        #expect(fields.map(\.0) == Self.acks.map(\.token.record) && fields.map(\.3) == Self.acks.map(\.status))
        var encoder = FrameEncoder()
        encoder.acks(batch)
        var bytes = encoder.take()
        #expect(try FrameDecoder().decode(&bytes) == .acks(batch))
    }

    @Test("runs are copied whole, and an item's acknowledgement is the token it starts with")
    func building() {
        let all = AckBatch(Self.acks)
        var some = AckBatch()
        some.append(all, positions: 1..<3)
        some.append(all, positions: 5..<5)
        some.append(all, positions: 6..<7)
        #expect(Array(some) == [Self.acks[1], Self.acks[2], Self.acks[6]])
        var joined = AckBatch([Self.acks[0]])
        joined.append(contentsOf: some)
        #expect(Array(joined) == [Self.acks[0], Self.acks[1], Self.acks[2], Self.acks[6]])

        let token = Token(router: 4, worker: 77, record: 9, item: 1, itemCount: 3)
        let item = WireItem(token: token, subSequenceNumber: nil, arrivalTimestamp: nil, shardId: ByteBuffer(string: "s"),
                            sequenceNumber: ByteBuffer(string: "1"), partitionKey: nil, key: ByteBuffer(string: "k"),
                            data: ByteBuffer(string: "d"))
        let other = Token(router: 4, worker: 77, record: 10, item: 0, itemCount: 1)
        let second = WireItem(token: other, subSequenceNumber: nil, arrivalTimestamp: nil, shardId: ByteBuffer(string: "s"),
                              sequenceNumber: ByteBuffer(string: "2"), partitionKey: nil, key: ByteBuffer(string: "k"),
                              data: ByteBuffer(string: "longer data"))
        var fromItems = AckBatch([Self.acks[0]])
        let freed = fromItems.appendAcks(count: 2, status: .deadLettered) { [item, second][$0].encoded }
        #expect(Array(fromItems) == [Self.acks[0], Ack(token: token, status: .deadLettered), Ack(token: other, status: .deadLettered)],
                "each item's token, copied as it is, after what was there")
        #expect(freed == item.encodedSize + second.encodedSize, "the items' bytes: the credit they free")
    }
}
