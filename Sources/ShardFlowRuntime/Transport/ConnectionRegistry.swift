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

    /// Registers `channel` and installs what every frame connection runs: the frame decoder and
    /// the handler that hands frames and the connection's life to `delegate`.
    @discardableResult
    func attach(
        _ channel: Channel, peer: String, transport: TransportConfiguration, delegate: ConnectionDelegate, logger: Logger
    ) throws -> Connection {
        let connection = register(channel: channel, peer: peer)
        try channel.pipeline.syncOperations.addHandler(FrameDecodingHandler(maximumFrameLength: transport.maximumFrameLength))
        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(
            connection: connection, delegate: delegate, logger: logger, handshakeTimeout: transport.handshakeTimeout))
        return connection
    }

    func remove(_ id: ConnectionID) {
        connections[id] = nil
    }

    subscript(id: ConnectionID) -> Connection? { connections[id] }

    /// Queues a frame for `id`; it leaves with the next ``flush()``. Dropped silently when the
    /// connection is gone (what it carried is resent by its worker).
    func send(_ frame: OutboundFrame, to id: ConnectionID) {
        guard let connection = connections[id], !connection.isClosed else { return }
        let wasDirty = connection.isDirty
        connection.send(frame)
        if !wasDirty, connection.isDirty { dirty.append(connection) }
    }

    /// Sends `error` (when given) after what is pending, and closes the connection.
    func close(_ id: ConnectionID, with error: ErrorFrame?) {
        connections[id]?.close(with: error)
    }

    /// Sends every connection's pending frames.
    func flush() {
        let pending = dirty
        dirty.removeAll(keepingCapacity: true)
        for connection in pending { connection.flush() }
    }
}
