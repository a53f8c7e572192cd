import NIOCore

/// A worker's connection to its router, as a pure state machine composed into
/// ``WorkerStateMachine``: the handshake, the router's credit, the records kept for resending
/// and the queue of records waiting to be sent.
///
/// Records are sent in RECORDS frames within the router's credit, in index order, each at most
/// once per queueing; a record that completed while it waited is skipped. When the router
/// drains, nothing more is sent on that connection.
///
/// When the path breaks — the connection closes, or the router sends `PEER_LOST` because the
/// mapper holding this worker's records was lost — the queue is emptied and the composing
/// machine is told, so it queues every incomplete record again, in index order. Each
/// `PEER_LOST` starts a new resend *epoch* (their count on this connection), stamped on every
/// RECORDS frame: the router drops records of an older epoch, which were sent before this
/// worker reacted, so no record can overtake the resent ones before it.
public struct RouterLinkStateMachine: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Most records per RECORDS frame.
        public var maximumBatchRecords = FlowDefaults.maximumBatchCount
        /// Bytes a RECORDS frame aims for (one record may overshoot it).
        public var maximumBatchBytes = FlowDefaults.maximumBatchBytes

        public init() {}
    }

    public enum Action: Sendable {
        case send(ConnectionID, OutboundFrame)
        case close(ConnectionID, ErrorFrame?)
        /// Acknowledgements for this worker's records arrived.
        case deliverAcks(AckBatch)
        /// Records sent on the path may never be acknowledged: resend what is incomplete.
        case pathBroken(reason: String)
        case report(Event)
    }

    public enum Event: Hashable, Sendable {
        case connected(router: UInt32)
        case draining(reason: String)
        /// The router refused this worker, or sent an ERROR before closing.
        case routerError(code: UInt16, message: String)
        /// The router broke the protocol; the connection is closed.
        case refused(String)
    }

    private enum State: Sendable {
        case disconnected
        case handshaking(ConnectionID, HandshakeStateMachine)
        case ready(ConnectionID)
        /// The router is draining: nothing more is sent on this connection.
        case draining(ConnectionID)
    }

    public let configuration: Configuration
    private var state = State.disconnected
    private var credit = CreditBalance()
    public private(set) var store = RecordStore()
    private var sendQueue = RingBuffer<UInt64>()
    /// `PEER_LOST` frames received on this connection.
    public private(set) var epoch: UInt32 = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The connection in use, if any.
    public var connection: ConnectionID? {
        switch state {
        case .disconnected: nil
        case .handshaking(let id, _), .ready(let id), .draining(let id): id
        }
    }

    /// Records waiting to be sent.
    public var queuedCount: Int { sendQueue.count }

    // MARK: Records

    /// Keeps the records of a `processRecords` message (they get the next indices).
    public mutating func store(_ records: ReceivedRecords) {
        store.append(records)
    }

    /// Drops records below `index` (complete, behind the safe checkpoint).
    public mutating func release(below index: UInt64) {
        store.release(below: index)
    }

    /// Queues records for sending (records already queued or released are skipped).
    public mutating func enqueue(_ indices: some Sequence<UInt64>) {
        for index in indices where store.contains(index) && !store.isQueued(index) {
            store.setQueued(index, true)
            sendQueue.append(index)
        }
    }

    /// Sends queued records within the router's credit; `isComplete` says which records no
    /// longer need sending. A RECORDS frame carries a run of consecutive records that arrived
    /// in one `processRecords` message, as one slice of their bytes (the usual case: a
    /// message's records queued in order); a gap or the end of the message starts a new frame.
    public mutating func pump(isComplete: (UInt64) -> Bool) -> [Action] {
        guard case .ready(let id) = state else { return [] }
        var actions: [Action] = []
        while credit.canSend, let start = sendQueue.first {
            guard !isComplete(start), store.contains(start) else {
                sendQueue.removeFirst()
                store.setQueued(start, false)
                continue
            }
            var bytes = 0
            var expected = start
            var queueOffset = 0
            var credit = self.credit
            // The run: the next queued indices, consecutive, incomplete, within credit and the
            // frame limits.
            let run = store.run(from: start, limit: configuration.maximumBatchRecords) { index, size in
                guard credit.canSend, bytes < configuration.maximumBatchBytes, index == expected,
                      queueOffset < sendQueue.count, sendQueue[queueOffset] == index, index == start || !isComplete(index)
                else { return false }
                credit.spend(count: 1, bytes: size)
                bytes += size
                expected += 1
                queueOffset += 1
                return true
            }
            guard let run else { break }
            self.credit = credit
            for _ in 0..<run.count {
                store.setQueued(sendQueue.removeFirst(), false)
            }
            actions.append(.send(id, .records(epoch: epoch, run)))
        }
        return actions
    }

    // MARK: Connection

    /// A connection to a router is up: send this worker's HELLO.
    public mutating func connectionOpened(_ id: ConnectionID, hello: Hello) -> [Action] {
        state = .handshaking(id, HandshakeStateMachine(policy: .connecting(to: .router, index: nil)))
        credit = CreditBalance()
        epoch = 0
        return [.send(id, .hello(hello))]
    }

    public mutating func frameReceived(_ frame: Frame, from id: ConnectionID) -> [Action] {
        switch state {
        case .disconnected:
            return []
        case .handshaking(let current, var handshake):
            guard current == id else { return [] }
            switch handshake.firstFrameReceived(frame) {
            case .established(let hello):
                state = .ready(id)
                return [.report(.connected(router: hello.index))]
            case .refused(let error):
                return [.report(.refused(error.message)), .close(id, error)]
            case .peerRefused(let error):
                return [.report(.routerError(code: error.rawCode, message: error.message)), .close(id, nil)]
            }
        case .ready(let current), .draining(let current):
            guard current == id else { return [] }
            switch frame {
            case .credit(let granted):
                credit.grant(granted)
                return []
            case .acks(let acks):
                return [.deliverAcks(acks)]
            case .peerLost(let lost):
                epoch &+= 1
                clearQueue()
                return [.pathBroken(reason: "\(lost.role) \(lost.index) lost: \(lost.reason)")]
            case .drain(let drain):
                state = .draining(id)
                return [.report(.draining(reason: drain.reason))]
            case .error(let error):
                return [.report(.routerError(code: error.rawCode, message: error.message))]
            case .hello, .records, .routedRecords, .items:
                let error = ErrorFrame(code: .protocolViolation, message: "unexpected \(frame.type) for a worker")
                return [.report(.refused(error.message)), .close(id, error)]
            }
        }
    }

    /// A connection closed. When it was this link's, the queue empties and the path is broken.
    public mutating func connectionClosed(_ id: ConnectionID) -> [Action] {
        guard connection == id else { return [] }
        state = .disconnected
        credit = CreditBalance()
        clearQueue()
        return [.pathBroken(reason: "router connection closed")]
    }

    private mutating func clearQueue() {
        for index in sendQueue { store.setQueued(index, false) }
        sendQueue.removeAll()
    }
}
