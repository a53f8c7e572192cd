import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Frame round trips")
struct FrameRoundTripTests {
    static func randomBytes(_ count: Int, using rng: inout SeededGenerator) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    static func randomDigits(using rng: inout SeededGenerator) -> ByteBuffer {
        let count = Int.random(in: 1...56, using: &rng)
        return ByteBuffer(bytes: (0..<count).map { _ in UInt8(ascii: "0") + UInt8.random(in: 0...9, using: &rng) })
    }

    static func randomRecord(index: UInt64, using rng: inout SeededGenerator) -> WireRecord {
        WireRecord(
            index: index,
            subSequenceNumber: Bool.random(using: &rng) ? UInt64.random(in: 0...UInt64.max, using: &rng) : nil,
            arrivalTimestamp: Bool.random(using: &rng) ? Int64.random(in: .min ... .max, using: &rng) : nil,
            sequenceNumber: randomDigits(using: &rng),
            partitionKey: Bool.random(using: &rng) ? randomBytes(Int.random(in: 0...256, using: &rng), using: &rng) : nil,
            data: randomBytes(Int.random(in: 0...3000, using: &rng), using: &rng)
        )
    }

    static func randomToken(using rng: inout SeededGenerator) -> Token {
        let count = UInt32.random(in: 0...40, using: &rng)
        return Token(
            router: UInt16.random(in: 0...UInt16.max, using: &rng),
            worker: UInt64.random(in: 0...UInt64.max, using: &rng),
            record: UInt64.random(in: 0...UInt64.max, using: &rng),
            item: count == 0 ? 0 : UInt32.random(in: 0..<count, using: &rng),
            itemCount: count
        )
    }

    @Test("random record batches survive encode and decode", arguments: 0..<20)
    func records(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let records = (0..<Int.random(in: 1...200, using: &rng)).map {
            Self.randomRecord(index: UInt64($0) + seed * 1000, using: &rng)
        }
        let batch = RecordBatch(records)
        let routed = RoutedRecordBatch(router: 3, worker: rng.next(), shardId: "shardId-\(seed)", stream: "stream-\(seed)", records: batch)
        let epoch = UInt32(truncatingIfNeeded: rng.next())
        var encoder = FrameEncoder()
        encoder.encode(Frame.records(epoch: epoch, batch))
        encoder.encode(Frame.routedRecords(routed))
        var buffer = encoder.take()
        guard case .records(let decodedEpoch, let decoded) = try FrameDecoder().decode(&buffer) else {
            Issue.record("not RECORDS")
            return
        }
        #expect(Array(decoded) == records && decodedEpoch == epoch)
        guard case .routedRecords(let decodedRouted) = try FrameDecoder().decode(&buffer) else {
            Issue.record("not ROUTED_RECORDS")
            return
        }
        #expect(decodedRouted == routed)
        #expect(Array(decodedRouted.records) == records)
        #expect(buffer.readableBytes == 0)
        #expect(records.reduce(0) { $0 + $1.encodedSize } + 13 == encodedSize(.records(epoch: epoch, batch)))
        let cut = records.count / 2
        let (head, tail) = decoded.split(after: cut)
        #expect(Array(head) + Array(tail) == records)
    }

    @Test("random item and ack batches survive encode and decode", arguments: 0..<20)
    func itemsAndAcks(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed &+ 77)
        let items = (0..<Int.random(in: 1...200, using: &rng)).map { _ in
            WireItem(
                token: Self.randomToken(using: &rng),
                subSequenceNumber: Bool.random(using: &rng) ? rng.next() : nil,
                arrivalTimestamp: Bool.random(using: &rng) ? Int64(bitPattern: rng.next()) : nil,
                shardId: ByteBuffer(string: "shardId-00000000000\(Int.random(in: 0...9, using: &rng))"),
                sequenceNumber: Self.randomDigits(using: &rng),
                partitionKey: Bool.random(using: &rng) ? Self.randomBytes(Int.random(in: 0...64, using: &rng), using: &rng) : nil,
                key: Self.randomBytes(Int.random(in: 0...64, using: &rng), using: &rng),
                error: Int.random(in: 0...9, using: &rng) == 0 ? "bad item \(rng.next())" : nil,
                data: Self.randomBytes(Int.random(in: 0...2000, using: &rng), using: &rng)
            )
        }
        let acks = AckBatch((0..<Int.random(in: 1...500, using: &rng)).map { _ in
            Ack(token: Self.randomToken(using: &rng), status: AckStatus.allCases.randomElement(using: &rng)!)
        })
        var encoder = FrameEncoder()
        encoder.encode(Frame.items(items))
        encoder.encode(Frame.acks(acks))
        var buffer = encoder.take()
        #expect(try FrameDecoder().decode(&buffer) == .items(items))
        #expect(try FrameDecoder().decode(&buffer) == .acks(acks))
        #expect(items.reduce(0) { $0 + $1.encodedSize } + 9 == encodedSize(.items(items)))
    }

    @Test("batch headers followed by their payload make the same bytes as the encoder's frames")
    func separateHeaders() throws {
        var rng = SeededGenerator(seed: 9)
        let records = RecordBatch((0..<5).map { Self.randomRecord(index: UInt64($0), using: &rng) })
        var encoder = FrameEncoder()
        let batch = RoutedRecordBatch(router: 2, worker: 77, shardId: "shardId-000000000003", records: records)
        encoder.encode(Frame.routedRecords(batch))
        var gathered = FrameEncoder.routedRecordsHeader(batch)
        gathered.writeImmutableBuffer(records.bytes)
        #expect(gathered == encoder.take())

        var items = ByteBuffer()
        for index in 0..<3 {
            WireItem.write(token: Token(router: 0, worker: 1, record: UInt64(index), item: 0, itemCount: 1),
                           subSequenceNumber: nil, arrivalTimestamp: nil, shardId: ByteBuffer(string: "s"),
                           stream: ByteBuffer(string: "orders"), sequenceNumber: ByteBuffer(string: "1"), partitionKey: nil, key: ByteBuffer(string: "k"),
                           error: nil, data: ByteBuffer(string: "d\(index)"), to: &items)
        }
        var itemFrame = FrameEncoder.itemsHeader(count: 3, byteCount: items.readableBytes)
        itemFrame.writeImmutableBuffer(items)
        encoder.beginItems()
        encoder.appendEncodedItems(items, count: 3)
        encoder.endBatch()
        #expect(itemFrame == encoder.take())
        guard case .items(let decoded) = try FrameDecoder().decode(&itemFrame) else {
            Issue.record("not ITEMS")
            return
        }
        #expect(decoded.map { String(buffer: $0.data) } == ["d0", "d1", "d2"])
    }

    @Test("an empty batch writes no frame")
    func emptyBatch() {
        var encoder = FrameEncoder()
        encoder.credit(Credit(count: 1, bytes: 1))
        let before = encoder.byteCount
        encoder.beginItems()
        encoder.endBatch()
        #expect(encoder.byteCount == before)
        #expect(!encoder.hasOpenBatch)
    }

    @Test("take() hands over the frames and the encoder starts over")
    func takeStartsOver() throws {
        var encoder = FrameEncoder()
        encoder.drain(Drain(reason: "a"))
        var first = encoder.take()
        encoder.drain(Drain(reason: "b"))
        var second = encoder.take()
        #expect(try FrameDecoder().decode(&first) == .drain(Drain(reason: "a")))
        #expect(try FrameDecoder().decode(&second) == .drain(Drain(reason: "b")))
        #expect(encoder.byteCount == 0)
    }

    func encodedSize(_ frame: Frame) -> Int {
        var encoder = FrameEncoder()
        encoder.encode(frame)
        return encoder.byteCount
    }
}
