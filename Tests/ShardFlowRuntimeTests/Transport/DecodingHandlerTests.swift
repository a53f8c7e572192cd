import NIOCore
import NIOEmbedded
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore
@testable import ShardFlowRuntime

@Suite("Channel decoders")
struct DecodingHandlerTests {
    @Test("lines split at \\n with \\r removed; a final unterminated line is delivered at end of input")
    func lines() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineDecoder(maximumLength: 100)))
        try channel.writeInbound(ByteBuffer(string: "one\r\ntw"))
        try channel.writeInbound(ByteBuffer(string: "o\n\nthree"))
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "one")
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "two")
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "")
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    @Test("a line longer than the maximum is rejected as soon as the bytes arrive")
    func longLine() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineDecoder(maximumLength: 10)))
        #expect(throws: ConfigurationError.self) { try channel.writeInbound(ByteBuffer(string: String(repeating: "x", count: 11))) }
    }

    @Test("a peer closing mid-frame is reported with what had arrived")
    func vanishedPeer() throws {
        let channel = EmbeddedChannel(handler: FrameDecodingHandler(maximumFrameLength: 1 << 20))
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 13, 0x06, 0, 0]))
        #expect(try channel.readInbound(as: Frame.self) == nil)
        do {
            _ = try channel.finish()
            Issue.record("no error")
        } catch let error as PeerVanishedError {
            #expect(error.description == "peer closed the connection in the middle of a frame (7 bytes of a 17-byte CREDIT frame received)")
        }
    }

    @Test("an oversize length fails the channel before the payload arrives")
    func oversize() {
        let channel = EmbeddedChannel(handler: FrameDecodingHandler(maximumFrameLength: 1024))
        #expect(throws: WireError.self) { try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0x10, 0])) }
    }

    /// Three frames of different sizes back to back: records, acks, credit.
    static let stream: (bytes: [UInt8], frames: [Frame]) = {
        var encoder = FrameEncoder()
        encoder.beginRecords()
        for index in 0..<3 as Range<UInt64> {
            encoder.appendRecord(
                index: index, subSequenceNumber: index, arrivalTimestamp: 1_700_000_000_000,
                sequenceNumber: Array("4959".utf8), partitionKey: Array("key-\(index)".utf8),
                data: [UInt8](repeating: UInt8(index), count: 40))
        }
        encoder.endBatch()
        encoder.acks([Ack(token: Token(router: 1, worker: 2, record: 3, item: 0, itemCount: 1), status: .ok)])
        encoder.credit(Credit(count: 7, bytes: 4096))
        var buffer = encoder.take()
        let bytes = Array(buffer.readableBytesView)
        var frames: [Frame] = []
        while let frame = try! FrameDecoder().decode(&buffer) { frames.append(frame) }
        return (bytes, frames)
    }()

    static func frames(from channel: EmbeddedChannel) throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try channel.readInbound(as: Frame.self) { frames.append(frame) }
        return frames
    }

    @Test("frames split across two reads at every point come out whole and in order")
    func everySplitPoint() throws {
        let (bytes, expected) = Self.stream
        #expect(expected.count == 3)
        for split in 0...bytes.count {
            let channel = EmbeddedChannel(handler: FrameDecodingHandler(maximumFrameLength: 1 << 20))
            try channel.writeInbound(ByteBuffer(bytes: bytes[..<split]))
            try channel.writeInbound(ByteBuffer(bytes: bytes[split...]))
            #expect(try Self.frames(from: channel) == expected, "split at \(split)")
            #expect(try channel.finish().isClean)
        }
    }

    @Test("one byte per read comes out the same")
    func oneBytePerRead() throws {
        let (bytes, expected) = Self.stream
        let channel = EmbeddedChannel(handler: FrameDecodingHandler(maximumFrameLength: 1 << 20))
        for byte in bytes { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(try Self.frames(from: channel) == expected)
        #expect(try channel.finish().isClean)
    }

    @Test("an oversize length split across reads is rejected once its fourth byte arrives")
    func oversizeSplitLength() throws {
        let channel = EmbeddedChannel(handler: FrameDecodingHandler(maximumFrameLength: 1024))
        try channel.writeInbound(ByteBuffer(bytes: [0, 0]))
        #expect(throws: WireError.self) { try channel.writeInbound(ByteBuffer(bytes: [0x10, 0])) }
    }

    @Test("after a malformed frame nothing more is decoded on that connection")
    func stopsAfterMalformedFrame() throws {
        let channel = EmbeddedChannel(handler: FrameDecodingHandler(maximumFrameLength: 1 << 20))
        // Length 1, type 0x7F: unknown.
        #expect(throws: WireError.self) { try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 1, 0x7F])) }
        try channel.writeInbound(ByteBuffer(bytes: Self.stream.bytes))
        #expect(try Self.frames(from: channel).isEmpty)
    }

    @Test("a peer closing inside a length field is reported too")
    func vanishedInsideLength() throws {
        let channel = EmbeddedChannel(handler: FrameDecodingHandler(maximumFrameLength: 1 << 20))
        try channel.writeInbound(ByteBuffer(bytes: Self.stream.bytes + [0, 0]))
        #expect(try Self.frames(from: channel) == Self.stream.frames)
        do {
            _ = try channel.finish()
            Issue.record("no error")
        } catch let error as PeerVanishedError {
            #expect(error.description == "peer closed the connection in the middle of a frame (2 bytes of a frame received)")
        }
    }
}
