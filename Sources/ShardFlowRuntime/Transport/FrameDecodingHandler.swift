import NIOCore

/// Decodes frames from a connection's bytes with ``FrameDecoder``.
///
/// A malformed frame surfaces as a ``WireError`` through `errorCaught`; a peer that closes the
/// connection in the middle of a frame surfaces as ``PeerVanishedError``.
final class FrameDecodingHandler: ByteToMessageDecoder {
    typealias InboundOut = Frame

    private let decoder: FrameDecoder

    init(maximumFrameLength: UInt32) {
        decoder = FrameDecoder(maximumFrameLength: maximumFrameLength)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try decoder.decode(&buffer) else {
            // A partial frame of known (already validated) length: make room for all of it now,
            // so the reads that complete it are appended without growing — and copying — the
            // buffer again and again.
            if let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) {
                let missing = 4 + Int(length) - buffer.readableBytes
                if missing > buffer.writableBytes { buffer.reserveCapacity(minimumWritableBytes: missing) }
            }
            return .needMoreData
        }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            let announced = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self)
            let type = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self).flatMap(FrameType.init(rawValue:))
            let held = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: held)
            throw PeerVanishedError(bytesHeld: held, frameLength: announced.map { Int($0) + 4 }, frameType: type)
        }
        return .needMoreData
    }
}

/// The peer closed the connection part-way through a frame.
public struct PeerVanishedError: Error, CustomStringConvertible, Sendable {
    public var bytesHeld: Int
    public var frameLength: Int?
    public var frameType: FrameType?

    public var description: String {
        let of = frameLength.map { " of a \($0)-byte" } ?? " of a"
        let type = frameType.map { " \($0)" } ?? ""
        return "peer closed the connection in the middle of a frame (\(bytesHeld) bytes\(of)\(type) frame received)"
    }
}
