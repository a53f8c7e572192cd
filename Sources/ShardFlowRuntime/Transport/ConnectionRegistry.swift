import Logging
import NIOCore

/// The connections of one service, on its event loop: ids, lookup, and the batched flush that
/// sends each connection's pending frames in one write per read burst.
final class ConnectionRegistry: @unchecked Sendable {
    let eventLoop: EventLoop
    private(set) var connections: [ConnectionID: Connection] = [:]
    private var dirty: [Connection] = []
    private var nextID: ConnectionID = 1

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    func register(channel: Channel, peer: String) -> Connection {
        eventLoop.preconditionInEventLoop()
        let connection = Connection(id: nextID, channel: channel, peer: peer)
        nextID += 1
        connections[connection.id] = connection
        return connection
    }

    func remove(_ id: ConnectionID) {
        connections[id] = nil
    }

    subscript(id: ConnectionID) -> Connection? { connections[id] }

    /// Queues frames for `id` (dropped silently if it is gone: its peer will resend).
    func write(to id: ConnectionID, _ body: (inout FrameEncoder) -> Void) {
        guard let connection = connections[id], !connection.isClosed else { return }
        let wasDirty = connection.isDirty
        connection.write(body)
        if !wasDirty, connection.isDirty { dirty.append(connection) }
    }

    /// Queues a batch frame as a header and an already-encoded payload (no copy of the payload).
    func writeBatch(to id: ConnectionID, header: ByteBuffer, payload: ByteBuffer) {
        guard let connection = connections[id], !connection.isClosed else { return }
        let wasDirty = connection.isDirty
        connection.writeBatch(header: header, payload: payload)
        if !wasDirty { dirty.append(connection) }
    }

    /// Sends every connection's pending frames.
    func flush() {
        let pending = dirty
        dirty.removeAll(keepingCapacity: true)
        for connection in pending { connection.flush() }
    }
}
