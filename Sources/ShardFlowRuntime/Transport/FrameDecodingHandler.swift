import NIOCore

/// Decodes frames from a connection's bytes with ``FrameDecoder``.
///
/// Frames that arrive whole within one read are handed on as slices of that read (no copy);
/// only a frame split across reads is assembled in a buffer of its own, sized from its length
/// field, so each byte is copied at most once and no buffer grows by doubling. (NIO's
/// `ByteToMessageHandler` would instead append every later read to the leftover bytes.)
///
/// The first frame of a connection must be a HELLO, so it may announce at most
/// ``Hello/maximumFrameLength`` bytes: a peer cannot make the receiver buffer a large frame
/// before it said who it is. Later frames may be as large as the configured maximum.
///
/// A malformed frame surfaces as a ``WireError`` through `errorCaught` and stops decoding on
/// this connection; a peer that closes the connection in the middle of a frame surfaces as
/// ``PeerVanishedError``.
final class FrameDecodingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Frame

    private var decoder: FrameDecoder
    private let maximumFrameLength: UInt32
    private var firstFrameSeen = false
    /// The start of a frame whose remaining bytes have not arrived yet.
    private var partial: ByteBuffer?
    private var failed = false

    init(maximumFrameLength: UInt32) {
        self.maximumFrameLength = maximumFrameLength
        decoder = FrameDecoder(maximumFrameLength: min(maximumFrameLength, Hello.maximumFrameLength))
    }

    /// Passes a decoded frame on; after the first, frames may be as large as the maximum.
    private func deliver(_ frame: Frame, context: ChannelHandlerContext) {
        if !firstFrameSeen {
            firstFrameSeen = true
            decoder.maximumFrameLength = maximumFrameLength
        }
        context.fireChannelRead(wrapInboundOut(frame))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var input = unwrapInboundIn(data)
        do {
            if partial != nil {
                guard let frame = try complete(from: &input) else { return }
                deliver(frame, context: context)
            }
            while let frame = try decoder.decode(&input) {
                deliver(frame, context: context)
            }
            if input.readableBytes > 0 { hold(input) }
        } catch {
            failed = true
            partial = nil
            context.fireErrorCaught(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        reportVanishedPeer(context: context)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(ChannelEvent.inputClosed) = event as? ChannelEvent { reportVanishedPeer(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    /// Copies the rest of a split frame into a buffer with room for all of it (as far as its
    /// length field, once readable, says).
    private func hold(_ bytes: ByteBuffer) {
        var capacity = bytes.readableBytes
        if let length = bytes.getInteger(at: bytes.readerIndex, as: UInt32.self) { capacity = max(capacity, 4 + Int(length)) }
        var held = ByteBufferAllocator().buffer(capacity: capacity)
        held.writeImmutableBuffer(bytes)
        partial = held
    }

    /// Moves the bytes the held frame still lacks from `input`; returns the frame once whole.
    private func complete(from input: inout ByteBuffer) throws(WireError) -> Frame? {
        var held = partial!
        partial = nil
        if held.readableBytes < 4 {
            held.writeImmutableBuffer(input.readSlice(length: min(4 - held.readableBytes, input.readableBytes))!)
            // Checks the length as soon as it is readable (an oversize one throws here).
            guard try decoder.decode(&held) == nil else { preconditionFailure("a frame fits in its 4-byte length field") }
            guard let length = held.getInteger(at: held.readerIndex, as: UInt32.self) else {
                partial = held
                return nil
            }
            held.reserveCapacity(minimumWritableBytes: Int(length))
        }
        let length = Int(held.getInteger(at: held.readerIndex, as: UInt32.self)!)
        let missing = 4 + length - held.readableBytes
        held.writeImmutableBuffer(input.readSlice(length: min(missing, input.readableBytes))!)
        guard let frame = try decoder.decode(&held) else {
            partial = held
            return nil
        }
        return frame
    }

    private func reportVanishedPeer(context: ChannelHandlerContext) {
        guard !failed, let held = partial, held.readableBytes > 0 else { return }
        partial = nil
        failed = true
        let announced = held.getInteger(at: held.readerIndex, as: UInt32.self)
        let type = held.getInteger(at: held.readerIndex + 4, as: UInt8.self).flatMap(FrameType.init(rawValue:))
        context.fireErrorCaught(PeerVanishedError(
            bytesHeld: held.readableBytes, frameLength: announced.map { Int($0) + 4 }, frameType: type))
    }
}
