import NIOCore

/// Hands the lines of a pipe (after a ``LineDecoder``), and the end of input, to its delegate.
final class StdinHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let delegate: LineInputDelegate

    init(delegate: LineInputDelegate) {
        self.delegate = delegate
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        delegate.lineReceived(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            delegate.inputClosed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        delegate.inputClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        delegate.inputFailed(error)
    }
}
