import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Forwards a connection's decoded frames and lifecycle to its delegate. A malformed frame
/// closes only this connection, with an ERROR frame and a log line naming the peer and the
/// frame type.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    let connection: Connection
    private let delegate: ConnectionDelegate
    private let logger: Logger
    private let handshakeTimeout: TimeAmount
    private var handshakeDeadline: Scheduled<Void>?

    init(connection: Connection, delegate: ConnectionDelegate, logger: Logger, handshakeTimeout: TimeAmount) {
        self.connection = connection
        self.delegate = delegate
        self.logger = logger
        self.handshakeTimeout = handshakeTimeout
    }

    func channelActive(context: ChannelHandlerContext) {
        // A peer that never sends its first frame (its HELLO) does not keep the connection.
        let connection = self.connection, logger = self.logger, timeout = handshakeTimeout
        handshakeDeadline = context.eventLoop.scheduleTask(in: timeout) {
            logger.warning("\(connection) sent no HELLO within \(timeout.prettyDescription); closing it")
            connection.close(with: ErrorFrame(code: .protocolViolation, message: "no HELLO within \(timeout.prettyDescription)"))
        }
        delegate.connectionDidBecomeActive(connection)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !connection.isClosed else { return }
        if let deadline = handshakeDeadline {
            deadline.cancel()
            handshakeDeadline = nil
        }
        delegate.connection(connection, didReceive: unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate.connectionDidCompleteRead(connection)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        connection.markClosed()
        delegate.connectionDidClose(connection)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case let wire as WireError:
            logger.error("malformed frame from \(connection): \(wire); closing this connection", metadata: [
                "peer": "\(connection.peer)", "frame.type": "\(wire.frameType.map { "\($0)" } ?? "unknown")",
            ])
            connection.close(with: ErrorFrame(code: .malformedFrame, message: wire.description))
        case let vanished as PeerVanishedError:
            logger.warning("\(connection): \(vanished)", metadata: ["peer": "\(connection.peer)"])
            connection.close(with: nil)
        case let ioError as IOError where ioError.errnoCode == ECONNRESET || ioError.errnoCode == EPIPE:
            logger.info("\(connection): connection reset by peer")
            connection.close(with: nil)
        default:
            logger.warning("\(connection): \(error); closing this connection", metadata: ["peer": "\(connection.peer)"])
            connection.close(with: nil)
        }
    }
}
