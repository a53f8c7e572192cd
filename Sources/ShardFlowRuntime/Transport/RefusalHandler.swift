import NIOCore

/// Installed instead of the usual handlers on a connection that is refused before its
/// handshake (a foreign user, too many connections): once active, it sends the ERROR frame
/// that says why and closes, so the peer learns the reason and no descriptor is kept.
final class RefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let error: ErrorFrame

    init(_ error: ErrorFrame) {
        self.error = error
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private var refused = false

    private func refuse(_ context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        var encoder = FrameEncoder()
        encoder.error(error)
        let channel = context.channel
        context.writeAndFlush(NIOAny(encoder.take())).whenComplete { _ in Connection.closeGracefully(channel) }
    }
}
