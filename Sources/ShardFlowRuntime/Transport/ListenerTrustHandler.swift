import Logging
import NIOCore

/// First handler of an outgoing connection: before anything is sent, checks that the process
/// listening at the other end runs as a trusted user (`SO_PEERCRED`), and only then lets the
/// connection become active. A socket planted by another user is closed without a byte sent.
final class ListenerTrustHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let transport: TransportConfiguration
    private let path: String
    private let logger: Logger
    private let refused: () -> Void
    private var trusted = false

    /// `refused` runs (on the event loop) when the listener is not trusted and the connection
    /// was closed without becoming active.
    init(transport: TransportConfiguration, path: String, logger: Logger, refused: @escaping () -> Void) {
        self.transport = transport
        self.path = path
        self.logger = logger
        self.refused = refused
    }

    func channelActive(context: ChannelHandlerContext) {
        let transport = self.transport, path = self.path, logger = self.logger, refused = self.refused
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        PeerCredentials.of(context.channel).whenComplete { result in
            let context = bound.value
            switch result {
            case .success(let credentials) where transport.trustsListener(uid: credentials.uid):
                self.trusted = true
                context.fireChannelActive()
            case .success(let credentials):
                logger.error("refusing \(path): the process listening there (pid \(credentials.pid)) runs as uid \(credentials.uid), not as this user (\(getuid())) or root; another user's socket is in the runtime directory (allow the uid with --allow-uid if it is meant to be)")
                context.close(promise: nil)
                refused()
            case .failure(let error):
                logger.error("refusing \(path): cannot read the listener's credentials: \(error)")
                context.close(promise: nil)
                refused()
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard trusted else { return }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The connection handler only hears of a close after it heard of the connection.
        if trusted { context.fireChannelInactive() }
    }
}

#if canImport(Glibc)
import Glibc
#endif
