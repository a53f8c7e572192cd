import Logging
import NIOCore

/// One connection of a service, confined to the service's event loop: its channel, the
/// encoder collecting outgoing frames until the next flush, and a description for logs.
public final class Connection: @unchecked Sendable, CustomStringConvertible {
    public let id: ConnectionID
    public let channel: Channel
    /// Who is at the other end, for logs: "socket /run/…/router-0.sock" until the handshake,
    /// then for example "mapper 1".
    public var peer: String
    var encoder = FrameEncoder()
    private(set) var isDirty = false
    /// Large payloads queued as their own buffers (no copy), in order after `encoder`'s bytes.
    private var pendingBuffers: [ByteBuffer] = []
    public private(set) var isClosed = false

    init(id: ConnectionID, channel: Channel, peer: String) {
        self.id = id
        self.channel = channel
        self.peer = peer
    }

    public var description: String { "\(peer) (connection \(id))" }

    /// Writes frames into the pending buffer; they leave on the next ``flush()``.
    func write(_ body: (inout FrameEncoder) -> Void) {
        guard !isClosed else { return }
        body(&encoder)
        isDirty = encoder.byteCount > 0
    }

    /// Queues a batch frame whose elements are already encoded: `header` (from
    /// ``FrameEncoder``'s `…Header` methods) and the payload bytes are written as separate
    /// buffers, so the payload is not copied again.
    func writeBatch(header: ByteBuffer, payload: ByteBuffer) {
        guard !isClosed else { return }
        if encoder.byteCount > 0 { pendingBuffers.append(encoder.take()) }
        pendingBuffers.append(header)
        pendingBuffers.append(payload)
        isDirty = true
    }

    /// Sends everything written since the last flush (one gathered write).
    func flush() {
        isDirty = false
        guard !isClosed else { return }
        if pendingBuffers.isEmpty {
            guard encoder.byteCount > 0 else { return }
            channel.writeAndFlush(encoder.take(), promise: nil)
            return
        }
        for buffer in pendingBuffers { channel.write(buffer, promise: nil) }
        pendingBuffers.removeAll(keepingCapacity: true)
        if encoder.byteCount > 0 { channel.write(encoder.take(), promise: nil) }
        channel.flush()
    }

    /// Sends `error` (if any) after the pending frames, then closes.
    func close(with error: ErrorFrame?) {
        guard !isClosed else { return }
        if let error { encoder.error(error) }
        flush()
        isClosed = true
        channel.close(promise: nil)
    }

    func markClosed() { isClosed = true }
}

/// Receives a connection's events on its event loop.
protocol ConnectionDelegate: AnyObject, Sendable {
    func connectionDidBecomeActive(_ connection: Connection)
    func connection(_ connection: Connection, didReceive frame: Frame)
    func connectionDidCompleteRead(_ connection: Connection)
    func connectionDidClose(_ connection: Connection)
}

/// Forwards a connection's decoded frames and lifecycle to its delegate. A malformed frame
/// closes only this connection, with an ERROR frame and a log line naming the peer and the
/// frame type.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    let connection: Connection
    private let delegate: ConnectionDelegate
    private let logger: Logger

    init(connection: Connection, delegate: ConnectionDelegate, logger: Logger) {
        self.connection = connection
        self.delegate = delegate
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        delegate.connectionDidBecomeActive(connection)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !connection.isClosed else { return }
        delegate.connection(connection, didReceive: unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate.connectionDidCompleteRead(connection)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
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

#if canImport(Glibc)
import Glibc
#endif
