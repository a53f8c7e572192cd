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

    /// Queues a frame; it leaves with the next ``flush()``. The one send path of every
    /// service: control frames and small batches go into the connection's encoder, while the
    /// payloads of forwarded batches (a router's records, a mapper's items) are queued as the
    /// buffers they already are, behind a header of their own, so they are not copied again.
    func send(_ frame: OutboundFrame) {
        guard !isClosed else { return }
        switch frame {
        case .routedRecords(let batch):
            queue(header: FrameEncoder.routedRecordsHeader(batch), payload: batch.records.bytes)
        case .items(let count, let bytes):
            queue(header: FrameEncoder.itemsHeader(count: count, byteCount: bytes.readableBytes), payload: bytes)
        case .records(let epoch, let records) where records.byteCount >= Self.separatePayloadBytes:
            // A worker's stored records: a slice of a whole daemon message, sent as it is.
            queue(header: FrameEncoder.recordsHeader(epoch: epoch, count: records.count, byteCount: records.byteCount),
                  payload: records.bytes)
        case .hello, .credit, .records, .acks, .peerLost, .drain, .error:
            encoder.encode(frame)
            isDirty = isDirty || encoder.byteCount > 0
        }
    }

    /// RECORDS payloads from this size on leave as their own buffer; smaller ones are copied
    /// into the encoder (cheaper than another buffer in the write).
    static let separatePayloadBytes = 16 * 1024

    private func queue(header: ByteBuffer, payload: ByteBuffer) {
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
        Self.closeGracefully(channel)
    }

    /// Closes our side first, so the peer reads everything written (an ERROR frame above all)
    /// even while it is still sending — a full close with its bytes unread would reset the
    /// connection and lose them — then the whole connection once the peer hangs up, or after
    /// a second at most.
    static func closeGracefully(_ channel: Channel) {
        channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
        channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
    }

    func markClosed() { isClosed = true }
}
