import NIOCore
import NIOEmbedded
import Testing

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
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecodingHandler(maximumFrameLength: 1 << 20)))
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
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecodingHandler(maximumFrameLength: 1024)))
        #expect(throws: WireError.self) { try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0x10, 0])) }
    }
}
