/// The daemon side of the MultiLangDaemon exchange with one child (one shard), as the Java
/// daemon behaves: used by ShardFlow's local source to drive `shardflow-worker` (or any
/// MultiLangDaemon child). The child side is ``WorkerStateMachine``.
///
/// The driver announces each message it sends; every line the child writes goes through
/// ``lineReceived(_:)``, which validates it and says what to do: store a checkpoint and reply,
/// reply with an error, note that the exchange completed, skip the line, or fail (where the
/// Java daemon would exit).
public struct DaemonSessionStateMachine: Sendable {
    public enum Action: Sendable {
        /// Store this checkpoint for the shard, then send the reply that follows.
        case persist(Checkpoint)
        /// Send this line to the child.
        case reply(DaemonMessage)
        /// The child answered the pending message; the driver may send the next one.
        case completed(action: MLDAction)
        /// The line was not a message the daemon understands; the daemon logs and skips it.
        case skipLine(String)
        /// The child broke the protocol: the Java daemon would exit here.
        case fail(String)
    }

    /// Which checkpointer the pending message comes with (reference §1.4).
    private enum Checkpointer: Hashable, Sendable {
        /// `initialize`, `leaseLost`: any checkpoint gets `InvalidStateException`.
        case none
        /// `processRecords`, `shutdownRequested`: up to the largest delivered record.
        case upToLargestDelivered
        /// `shardEnded`: up to `SHARD_END`, which a null checkpoint means.
        case shardEnd
    }

    private enum Phase: Hashable, Sendable {
        case notStarted
        case ready
        case awaiting(action: MLDAction, checkpointer: Checkpointer)
        case ended
        case failed
    }

    public let shardId: String
    private var phase = Phase.notStarted
    /// The shard's stored checkpoint.
    public private(set) var checkpoint: Checkpoint?
    /// The largest position delivered to the child.
    public private(set) var largestDelivered: SequencePosition?
    /// Errors to answer the next checkpoint requests with, in order (fault injection for tests
    /// and drills, e.g. `ThrottlingException`).
    public var injectedCheckpointErrors: [CheckpointError] = []

    public init(shardId: String, checkpoint: Checkpoint?) {
        self.shardId = shardId
        self.checkpoint = checkpoint
    }

    /// Whether the driver may send the next message.
    public var isReady: Bool {
        if case .ready = phase { return true }
        return false
    }

    /// Whether the exchange ended (after the status for `leaseLost` or `shardEnded`).
    public var isEnded: Bool { phase == .ended }

    /// The `initialize` message to send first (and marks it sent).
    public mutating func initialize() -> DaemonMessage {
        precondition(phase == .notStarted, "initialize sent twice")
        phase = .awaiting(action: .initialize, checkpointer: .none)
        return .initialize(
            shardId: shardId,
            sequenceNumber: (checkpoint ?? .trimHorizon).sequenceNumberText,
            subSequenceNumber: checkpoint?.subSequenceNumber ?? (checkpoint == nil ? nil : 0)
        )
    }

    /// Notes that a `processRecords` message whose last record is at `lastPosition` was sent.
    public mutating func sendingProcessRecords(lastPosition: SequencePosition?) {
        precondition(isReady, "processRecords sent while \(phase)")
        if let lastPosition, largestDelivered.map({ lastPosition > $0 }) ?? true {
            largestDelivered = lastPosition
        }
        phase = .awaiting(action: .processRecords, checkpointer: .upToLargestDelivered)
    }

    /// Notes that `shardEnded`, `leaseLost` or `shutdownRequested` was sent, and returns it.
    public mutating func sending(_ message: DaemonMessage) -> DaemonMessage {
        precondition(isReady, "\(message.action) sent while \(phase)")
        switch message {
        case .shardEnded:
            phase = .awaiting(action: .shardEnded, checkpointer: .shardEnd)
        case .leaseLost:
            phase = .awaiting(action: .leaseLost, checkpointer: .none)
        case .shutdownRequested:
            phase = .awaiting(action: .shutdownRequested, checkpointer: .upToLargestDelivered)
        case .shutdown(let reason):
            phase = .awaiting(action: .shutdown, checkpointer: reason.isShardEnd ? .shardEnd : .upToLargestDelivered)
        case .initialize, .processRecords, .checkpoint:
            preconditionFailure("use initialize()/sendingProcessRecords(lastPosition:) for \(message.action)")
        }
        return message
    }

    /// A line arrived on the child's stdout.
    public mutating func lineReceived(_ line: some Collection<UInt8>) -> [Action] {
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) {
            return []  // blank lines are ignored (kclpy writes one before every message)
        }
        let message: ChildMessage
        do {
            message = try MLDDecoder.decodeChildMessage(line)
        } catch {
            return [.skipLine(error.description)]
        }
        guard case .awaiting(let action, let checkpointer) = phase else {
            return [.skipLine("\(describe(message)) while no message awaits a status")]
        }
        switch message {
        case .status(let responseFor):
            guard responseFor == action else {
                phase = .failed
                return [.fail("status responseFor \"\(responseFor)\" while \"\(action)\" awaits its status")]
            }
            if checkpointer == .shardEnd, checkpoint != .shardEnd {
                phase = .failed
                return [.fail("the child did not checkpoint at the end of shard \(shardId)")]
            }
            switch action {
            case .leaseLost, .shardEnded, .shutdown: phase = .ended
            case .initialize, .processRecords, .shutdownRequested, .checkpoint, .status: phase = .ready
            }
            return [.completed(action: action)]
        case .checkpoint(let sequenceNumber, let subSequenceNumber):
            return checkpointRequested(sequenceNumber, subSequenceNumber, checkpointer: checkpointer)
        }
    }

    private mutating func checkpointRequested(
        _ sequenceNumber: String?,
        _ subSequenceNumber: Int64?,
        checkpointer: Checkpointer
    ) -> [Action] {
        func reply(_ error: CheckpointError?) -> Action {
            .reply(.checkpoint(sequenceNumber: sequenceNumber, subSequenceNumber: subSequenceNumber, error: error))
        }
        if checkpointer == .none { return [reply(.invalidState)] }
        if !injectedCheckpointErrors.isEmpty { return [reply(injectedCheckpointErrors.removeFirst())] }

        let target: Checkpoint
        if let sequenceNumber {
            guard let position = SequencePosition(sequenceNumber, subSequenceNumber ?? 0) else {
                return [reply(.illegalArgument)]
            }
            let largestPermitted: Checkpoint = checkpointer == .shardEnd
                ? .shardEnd : largestDelivered.map { .position($0) } ?? .trimHorizon
            guard .position(position) <= largestPermitted, checkpoint.map({ .position(position) >= $0 }) ?? true else {
                return [reply(.illegalArgument)]
            }
            target = .position(position)
        } else if checkpointer == .shardEnd {
            target = .shardEnd
        } else if let largestDelivered {
            target = .position(largestDelivered)
        } else {
            return [reply(nil)]  // nothing delivered yet: nothing to store
        }
        checkpoint = target
        return [.persist(target), reply(nil)]
    }

    private func describe(_ message: ChildMessage) -> String {
        switch message {
        case .status(let responseFor): "status for \"\(responseFor)\""
        case .checkpoint: "checkpoint request"
        }
    }
}
