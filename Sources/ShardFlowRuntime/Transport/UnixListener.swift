import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Accepts frame connections on a Unix stream socket. A connection is admitted only from a
/// peer whose credentials (SO_PEERCRED) are this user's or explicitly allowed, and only while
/// the listener holds fewer than its connection limit; a refused peer gets an ERROR frame that
/// says why, and its connection is closed.
enum UnixListener {
    static func start(
        at address: ListenAddress,
        on eventLoop: EventLoop,
        transport: TransportConfiguration,
        registry: ConnectionRegistry,
        delegate: ConnectionDelegate,
        logger: Logger
    ) -> EventLoopFuture<Channel> {
        let refusals = RateLimitedLog(logger: logger)
        let bootstrap = ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.recvAllocator, value: TransportConfiguration.readAllocator)
            .childChannelInitializer { channel in
                PeerCredentials.of(channel).flatMapThrowing { credentials in
                    let peer = "pid \(credentials.pid)"
                    if let refusal = refusal(uid: credentials.uid, pid: credentials.pid, transport: transport, registry: registry) {
                        refusals.warning("refused a connection from \(peer) (uid \(credentials.uid)): \(refusal.message)")
                        try channel.pipeline.syncOperations.addHandler(RefusalHandler(refusal))
                        return
                    }
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

    /// Why a peer is refused at accept, or nil to admit it.
    private static func refusal(uid: UInt32, pid: Int32, transport: TransportConfiguration, registry: ConnectionRegistry) -> ErrorFrame? {
        guard transport.admitsPeer(uid: uid) else {
            return ErrorFrame(code: .unauthorized, message: "uid \(uid) (pid \(pid)) is not allowed to connect; allow it with --allow-uid \(uid)")
        }
        guard registry.connections.count < transport.maximumConnections else {
            return ErrorFrame(code: .internalError, message: "this listener holds its limit of \(transport.maximumConnections) connections (--max-connections)")
        }
        return nil
    }
}
