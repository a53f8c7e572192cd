import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A process's control socket, `<runtime-dir>/control/<name>.sock`: a peer of the same user,
/// root, or a user allowed with `--allow-uid` writes one request line — `metrics` or `status` — and
/// reads the answer until the socket closes. `shardflow status` and the metrics endpoint read
/// every process this way, so neither depends on any one process staying up.
enum ControlServer {
    /// The control socket directory of a runtime directory.
    static func directory(in runtime: RuntimeDirectory) -> String { runtime.path + "/control" }

    /// Listens on `path`; `respond` runs on `eventLoop` for each request.
    static func start(
        at path: String,
        on eventLoop: EventLoop,
        transport: TransportConfiguration,
        logger: Logger,
        respond: @escaping @Sendable (String) -> String
    ) -> EventLoopFuture<Channel> {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        do {
            try RuntimeDirectory.makeDirectories(directory, mode: 0o700)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        guard path.utf8.count < 108 else {
            return eventLoop.makeFailedFuture(ConfigurationError("control socket path \(path) is longer than a Unix socket allows (107 bytes)"))
        }
        let bootstrap = ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 16)
            .childChannelInitializer { channel in
                PeerCredentials.of(channel).flatMapThrowing { credentials in
                    guard credentials.uid == 0 || transport.admitsPeer(uid: credentials.uid) else {
                        logger.debug("control socket: refused uid \(credentials.uid) (pid \(credentials.pid))")
                        channel.close(promise: nil)
                        return
                    }
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(respond: respond))
                }
            }
        return bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).flatMapThrowing { channel in
            guard chmod(path, 0o600) == 0 else { throw SystemCallError(call: "chmod(\(path), 0600)", code: errno) }
            return channel
        }
    }

    /// Reads one request line (at most 64 bytes), answers, closes.
    private final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let respond: @Sendable (String) -> String
        private var request = ByteBuffer()
        private var answered = false

        init(respond: @escaping @Sendable (String) -> String) {
            self.respond = respond
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            request.writeBuffer(&bytes)
            if request.readableBytesView.contains(UInt8(ascii: "\n")) || request.readableBytes > 64 {
                answer(context: context)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            answered = true
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            // The peer shut its writing side down after its request.
            if case ChannelEvent.inputClosed = event { answer(context: context) }
        }

        private func answer(context: ChannelHandlerContext) {
            guard !answered else { return }
            answered = true
            let line = String(buffer: request).split(separator: "\n").first.map { String($0).trimmed } ?? ""
            let reply = respond(line)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply))).whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
