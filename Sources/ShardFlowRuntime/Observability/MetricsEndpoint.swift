import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The one Prometheus scrape endpoint of a host: `GET /metrics` answers with every process's
/// metrics, gathered from the control sockets when asked (on a thread of its own, so a slow
/// process never blocks the event loop). Anything else gets 404.
public final class MetricsEndpoint: @unchecked Sendable {
    /// Where the endpoint listens.
    public enum Address: Sendable, Hashable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        /// A socket passed by systemd (socket activation).
        case descriptor(CInt)

        /// Parses `HOST:PORT` (`127.0.0.1:9464`, `[::1]:9464`, `:9464` for every address).
        public init?(argument: String) {
            guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]), (0...65535).contains(port) else {
                return nil
            }
            var host = String(argument[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self = .tcp(host: host.isEmpty ? "0.0.0.0" : host, port: port)
        }

        public var description: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .descriptor(let descriptor): "socket-activated fd \(descriptor)"
            }
        }
    }

    private let gatherer: MetricsGatherer
    private let pool: NIOThreadPool
    private let logger: Logger
    private var channel: Channel?

    public init(gatherer: MetricsGatherer, logger: Logger) {
        self.gatherer = gatherer
        self.logger = logger
        self.pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    /// Starts listening; the future gives the bound address (with the port when 0 was asked).
    public func start(at address: Address, on group: EventLoopGroup) -> EventLoopFuture<SocketAddress?> {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(endpoint: self))
                }
            }
        let bound: EventLoopFuture<Channel>
        switch address {
        case .tcp(let host, let port): bound = bootstrap.bind(host: host, port: port)
        case .descriptor(let descriptor): bound = bootstrap.withBoundSocket(descriptor)
        }
        return bound.map { channel in
            self.channel = channel
            return channel.localAddress
        }
    }

    /// Stops listening (its gathering thread ends with the process).
    public func stop() {
        channel?.close(promise: nil)
    }

    fileprivate func render(on eventLoop: EventLoop) -> EventLoopFuture<String> {
        pool.runIfActive(eventLoop: eventLoop) { self.gatherer.gather() }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let endpoint: MetricsEndpoint
        private var head: HTTPRequestHead?

        init(endpoint: MetricsEndpoint) {
            self.endpoint = endpoint
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
            case .body:
                break
            case .end:
                guard let head else { return }
                self.head = nil
                let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
                guard head.method == .GET || head.method == .HEAD, path == "/metrics" else {
                    respond(context: context, head: head, status: .notFound, type: "text/plain; charset=utf-8",
                            body: "ShardFlow serves its metrics at /metrics\n")
                    return
                }
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                endpoint.render(on: context.eventLoop).whenComplete { result in
                    let context = loopBound.value
                    switch result {
                    case .success(let text):
                        self.respond(context: context, head: head, status: .ok, type: "text/plain; version=0.0.4; charset=utf-8", body: text)
                    case .failure(let error):
                        self.respond(context: context, head: head, status: .internalServerError, type: "text/plain; charset=utf-8",
                                     body: "cannot gather the metrics: \(error)\n")
                    }
                }
            }
        }

        private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, type: String, body: String) {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }
}
