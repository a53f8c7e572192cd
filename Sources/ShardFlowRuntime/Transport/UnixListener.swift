import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Accepts frame connections on a Unix stream socket, admitting only peers whose credentials
/// (SO_PEERCRED) are this user's or explicitly allowed.
enum UnixListener {
    static func start(
        at address: ListenAddress,
        on eventLoop: EventLoop,
        transport: TransportConfiguration,
        registry: ConnectionRegistry,
        delegate: ConnectionDelegate,
        logger: Logger
    ) -> EventLoopFuture<Channel> {
        let bootstrap = ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: 1024 * 1024))
            .childChannelInitializer { channel in
                admit(channel, transport: transport, logger: logger).flatMapThrowing { peer in
                    try registry.attach(channel, peer: peer, transport: transport, delegate: delegate, logger: logger)
                }
            }
        switch address {
        case .path(let path):
            guard path.utf8.count < 108 else {
                return eventLoop.makeFailedFuture(ConfigurationError(
                    "socket path \(path) is \(path.utf8.count) bytes; Unix sockets allow at most 107 (use a shorter --runtime-dir)"))
            }
            let previous = umask(0o077)
            defer { umask(previous) }
            return bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).flatMapThrowing { channel in
                guard chmod(path, 0o600) == 0 else { throw SystemCallError(call: "chmod(\(path), 0600)", code: errno) }
                return channel
            }
        case .descriptor(let descriptor, _):
            return bootstrap.withBoundSocket(descriptor)
        }
    }

    /// Reads the peer's credentials; fails (closing the channel with an ERROR frame) for a user
    /// that is not admitted.
    private static func admit(_ channel: Channel, transport: TransportConfiguration, logger: Logger) -> EventLoopFuture<String> {
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture("peer")
        }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.flatMap { credentials in
            guard transport.admits(uid: credentials.uid) else {
                let message = "uid \(credentials.uid) (pid \(credentials.pid)) is not allowed to connect; allow it with --allow-uid \(credentials.uid)"
                logger.warning("refused connection: \(message)")
                var encoder = FrameEncoder()
                encoder.error(ErrorFrame(code: .unauthorized, message: message))
                return channel.writeAndFlush(encoder.take()).flatMap { channel.close() }.flatMapThrowing {
                    throw ConfigurationError(message)
                }
            }
            return channel.eventLoop.makeSucceededFuture("pid \(credentials.pid)")
        }
    }
}
