import NIOCore

/// The worker's side of the MultiLangDaemon exchange for one shard, as a pure state machine.
///
/// It takes past-tense events (a message arrived, acknowledgements arrived, a timer fired, the
/// path downstream broke, stdin closed) and returns actions for the I/O layer (write a line,
/// dispatch or resend records, arm the timer, report, exit). It owns the shard's
/// ``CheckpointTracker`` and applies the checkpoint rule:
///
/// * `processRecords`: register the records; checkpoint the safe position when the interval has
///   passed and it moved; answer the status at once unless `maxPending` records are
///   incomplete, in which case the status waits until fewer than `lowWater` are (checkpointing
///   on the interval meanwhile).
/// * `shardEnded` / `shutdown` TERMINATE: wait until every record is complete, checkpoint with a
///   null sequence number (retrying throttling without limit), then answer.
/// * `shutdownRequested`: wait up to `shutdownDrainTimeout` for in-flight records, checkpoint
///   the safe position, answer.
/// * `leaseLost` / `shutdown` ZOMBIE: answer at once, never checkpoint.
/// * Checkpoint errors: `ThrottlingException` and `KinesisClientLibDependencyException` are
///   retried with backoff; `ShutdownException` stops checkpointing until the shutdown message;
///   anything else is reported and not retried.
public struct WorkerStateMachine: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Incomplete records at which the `processRecords` status is held back (backpressure).
        public var maxPending: Int = 10_000
        /// A held status is released when incomplete records drop below this.
        public var lowWater: Int = 5_000
        /// Minimum time between checkpoints while records flow.
        public var checkpointInterval: TimeAmount = .seconds(5)
        /// First delay before retrying a retryable checkpoint error; doubles each attempt.
        public var checkpointRetryDelay: TimeAmount = .milliseconds(200)
        /// Longest delay between checkpoint retries.
        public var checkpointRetryMaximumDelay: TimeAmount = .seconds(5)
        /// Attempts for a retryable checkpoint error during `processRecords` or
        /// `shutdownRequested` before giving up until the next opportunity. At shard end the
        /// worker retries without limit, since the shard cannot complete otherwise.
        public var checkpointAttempts: Int = 5
        /// How long `shutdownRequested` waits for in-flight records before checkpointing.
        public var shutdownDrainTimeout: TimeAmount = .seconds(10)
        /// First delay before resending a record one of whose items failed; doubles each time.
        public var failedRecordRetryDelay: TimeAmount = .seconds(1)
        /// Longest delay between resends of a failing record.
        public var failedRecordRetryMaximumDelay: TimeAmount = .seconds(30)

        public init() {}
    }

    public enum Action: Hashable, Sendable {
        /// Write this line to the daemon (stdout).
        case send(ChildMessage)
        /// These newly registered records must be sent downstream.
        case dispatch(Range<UInt64>)
        /// These records must be sent downstream again (their path broke or an item failed).
        case resend([UInt64])
        /// Arm the single timer for this deadline (replacing any earlier one); nil cancels it.
        case scheduleTimer(NIODeadline?)
        /// Something worth logging or counting happened.
        case report(WorkerEvent)
        /// The worker is done: exit with this code.
        case exit(code: Int32)
    }

    public enum WorkerEvent: Hashable, Sendable {
        case initialized(shardId: String, checkpoint: String?)
        /// A checkpoint succeeded; nil = the null ("latest" / SHARD_END) checkpoint.
        case checkpointed(SequencePosition?)
        case checkpointRetrying(error: String, attempt: Int, delay: TimeAmount)
        /// A checkpoint failed and will not be retried now.
        case checkpointFailed(error: String, position: SequencePosition?)
        /// `ShutdownException`: the lease is gone; no more checkpoints until the shutdown message.
        case checkpointingStopped
        case backpressureApplied(incomplete: Int)
        case backpressureReleased(incomplete: Int)
        /// An item of this record failed; the record will be resent.
        case recordFailed(record: UInt64, attempt: Int, delay: TimeAmount)
        /// An acknowledgement could not be applied.
        case ackIgnored(record: UInt64, reason: String)
        case redelivering(records: Int, reason: String)
        case leaseLost
        case shardEnded
        /// The daemon sent a line that is not a valid message; it was skipped.
        case invalidLine(String)
        /// The daemon broke the protocol (for example a message before the previous status).
        case protocolViolation(String)
        /// stdin closed before the exchange ended.
        case unexpectedEndOfInput
    }

    private enum Phase: Hashable, Sendable {
        case awaitingInitialize
        case idle
        case handling(Pending)
        /// The final status was sent (lease lost or shard ended): waiting for stdin to close.
        case finished
        case exited
    }

    private struct Pending: Hashable, Sendable {
        enum Kind: Hashable, Sendable {
            case processRecords
            case shardEnd
            case shutdownRequested(deadline: NIODeadline)
        }

        var responseFor: String
        var kind: Kind
        /// Shard end / shutdown: the final checkpoint was made (or given up on).
        var finalCheckpointDone = false
    }

    private enum CheckpointState: Hashable, Sendable {
        case idle
        /// Waiting for the daemon's reply; `position` nil = the null checkpoint.
        case awaitingReply(position: SequencePosition?, index: UInt64?, attempt: Int)
        case backingOff(position: SequencePosition?, index: UInt64?, attempt: Int, until: NIODeadline)
    }

    public let configuration: Configuration
    public private(set) var tracker = CheckpointTracker<SequencePosition>()
    public private(set) var shardId: String?
    private var phase = Phase.awaitingInitialize
    private var checkpoint = CheckpointState.idle
    private var checkpointingStopped = false
    private var holdingStatus = false
    /// Index of the record last checkpointed (nil: none since start).
    private var lastCheckpointedIndex: UInt64?
    private var lastCheckpointTime: NIODeadline
    private var failedAttempts: [UInt64: Int] = [:]
    private var retryDue: [UInt64: NIODeadline] = [:]
    private var armedTimer: NIODeadline?

    public init(configuration: Configuration = Configuration(), now: NIODeadline) {
        self.configuration = configuration
        self.lastCheckpointTime = now
    }

    /// Index the next record will get (the I/O layer encodes records before registering them).
    public var nextRecordIndex: UInt64 { tracker.nextIndex }

    /// Index of the first record not yet behind the safe checkpoint (records below it may be
    /// released).
    public var firstHeldRecordIndex: UInt64 { tracker.firstIndex }

    /// Records registered and not complete.
    public var incompleteRecordCount: Int { tracker.incompleteCount }

    /// Whether a record is complete (asking the machine, not copying its tracker).
    public func isComplete(_ record: UInt64) -> Bool { tracker.isComplete(record) }

    /// Whether the exchange reached its end (final status sent).
    public var isFinished: Bool {
        switch phase {
        case .finished, .exited: true
        case .awaitingInitialize, .idle, .handling: false
        }
    }

    // MARK: Events

    /// A daemon message other than `processRecords`'s records arrived (see
    /// ``processRecordsReceived(_:now:)``).
    public mutating func messageReceived(_ message: DaemonMessage, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch message {
        case .checkpoint(_, _, let error):
            checkpointReplied(error: error, now: now, into: &actions)
        case .processRecords(let records, _):
            let positions = records.map {
                SequencePosition(sequenceNumber: SequenceNumber($0.sequenceNumber) ?? SequenceNumber("0")!,
                                 subSequenceNumber: $0.subSequenceNumber)
            }
            return processRecordsReceived(positions, now: now)
        case .initialize(let shardId, let sequenceNumber, _):
            guard case .awaitingInitialize = phase else {
                return violation("initialize received twice", into: &actions)
            }
            self.shardId = shardId
            actions.append(.report(.initialized(shardId: shardId, checkpoint: sequenceNumber)))
            actions.append(.send(.status(responseFor: "initialize")))
            phase = .idle
        case .leaseLost:
            guard begin("leaseLost", into: &actions) else { return actions }
            finishWithoutCheckpoint(responseFor: "leaseLost", into: &actions)
        case .shutdown(let reason) where !reason.isShardEnd:
            guard begin("shutdown", into: &actions) else { return actions }
            finishWithoutCheckpoint(responseFor: "shutdown", into: &actions)
        case .shardEnded, .shutdown:
            guard begin(message.action, into: &actions) else { return actions }
            actions.append(.report(.shardEnded))
            phase = .handling(Pending(responseFor: message.action, kind: .shardEnd))
        case .shutdownRequested:
            if case .awaitingInitialize = phase {
                actions.append(.send(.status(responseFor: "shutdownRequested")))
                return actions
            }
            guard begin("shutdownRequested", into: &actions) else { return actions }
            let deadline = now + configuration.shutdownDrainTimeout
            phase = .handling(Pending(responseFor: "shutdownRequested", kind: .shutdownRequested(deadline: deadline)))
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// A `processRecords` message arrived with records at these positions, in order.
    public mutating func processRecordsReceived(_ positions: some Sequence<SequencePosition>, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        guard begin("processRecords", into: &actions) else { return actions }
        let first = tracker.nextIndex
        for position in positions { tracker.append(position) }
        if tracker.nextIndex > first { actions.append(.dispatch(first..<tracker.nextIndex)) }
        phase = .handling(Pending(responseFor: "processRecords", kind: .processRecords))
        if !holdingStatus, tracker.incompleteCount >= configuration.maxPending {
            holdingStatus = true
            actions.append(.report(.backpressureApplied(incomplete: tracker.incompleteCount)))
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// Acknowledgements for this worker's records arrived.
    public mutating func acksReceived(_ acks: some Sequence<Ack>, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        for ack in acks {
            let token = ack.token
            if ack.status.completesItem {
                switch tracker.itemCompleted(record: token.record, item: token.item, itemCount: token.itemCount) {
                case .recorded, .duplicate, .alreadyComplete:
                    break
                case .unknownRecord:
                    actions.append(.report(.ackIgnored(record: token.record, reason: "no such record")))
                case .itemCountMismatch(let expected, let received):
                    actions.append(.report(.ackIgnored(
                        record: token.record,
                        reason: "item count \(received) differs from the \(expected) acknowledged before"
                    )))
                }
            } else if !tracker.isComplete(token.record), token.record < tracker.nextIndex, retryDue[token.record] == nil {
                let attempt = (failedAttempts[token.record] ?? 0) + 1
                failedAttempts[token.record] = attempt
                let delay = Self.backoff(
                    attempt: attempt,
                    initial: configuration.failedRecordRetryDelay,
                    maximum: configuration.failedRecordRetryMaximumDelay
                )
                retryDue[token.record] = now + delay
                actions.append(.report(.recordFailed(record: token.record, attempt: attempt, delay: delay)))
            }
        }
        if !failedAttempts.isEmpty {
            for record in failedAttempts.keys where tracker.isComplete(record) {
                failedAttempts[record] = nil
                retryDue[record] = nil
            }
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// The path records took downstream broke (a router or mapper connection closed, a peer
    /// further down was lost, or the worker reconnected): every incomplete record is resent.
    public mutating func pathBroken(reason: String, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        guard !isFinished else { return actions }
        let incomplete = tracker.incompleteRecords
        retryDue.removeAll()
        if !incomplete.isEmpty {
            actions.append(.report(.redelivering(records: incomplete.count, reason: reason)))
            actions.append(.resend(incomplete))
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// The timer armed by ``Action/scheduleTimer(_:)`` fired.
    public mutating func timerFired(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        armedTimer = nil
        let due = retryDue.filter { $0.value <= now }.keys.sorted()
        if !due.isEmpty {
            for record in due { retryDue[record] = nil }
            let stillIncomplete = due.filter { !tracker.isComplete($0) }
            if !stillIncomplete.isEmpty { actions.append(.resend(stillIncomplete)) }
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// A line from the daemon could not be parsed; it is skipped.
    public mutating func invalidLineReceived(_ error: MLDError) -> [Action] {
        [.report(.invalidLine(error.description))]
    }

    /// stdin reached its end: the worker exits (cleanly after the final status).
    public mutating func inputClosed() -> [Action] {
        var actions: [Action] = []
        if case .finished = phase {
            actions.append(.exit(code: 0))
        } else if case .exited = phase {
            return []
        } else {
            actions.append(.report(.unexpectedEndOfInput))
            actions.append(.exit(code: phase == .awaitingInitialize || phase == .idle ? 0 : 1))
        }
        if armedTimer != nil {
            armedTimer = nil
            actions.insert(.scheduleTimer(nil), at: 0)
        }
        phase = .exited
        return actions
    }

    // MARK: Decisions

    /// Moves the pending exchange as far as it can go now.
    private mutating func advance(now: NIODeadline, into actions: inout [Action]) {
        defer { rearmTimer(now: now, into: &actions) }
        if holdingStatus, tracker.incompleteCount < configuration.lowWater {
            holdingStatus = false
            actions.append(.report(.backpressureReleased(incomplete: tracker.incompleteCount)))
        }
        guard case .handling(var pending) = phase else { return }

        switch checkpoint {
        case .awaitingReply:
            return
        case .backingOff(let position, let index, let attempt, let until):
            guard now >= until else { return }
            requestCheckpoint(position, index: index, attempt: attempt + 1, into: &actions)
            return
        case .idle:
            break
        }

        switch pending.kind {
        case .processRecords:
            if shouldCheckpointOnInterval(now: now), let safe = tracker.checkpointable {
                requestCheckpoint(safe.position, index: safe.index, attempt: 1, into: &actions)
                return
            }
            guard !holdingStatus else { return }
            answer(pending.responseFor, next: .idle, into: &actions)

        case .shardEnd:
            guard tracker.incompleteCount == 0 else { return }
            if !pending.finalCheckpointDone, !checkpointingStopped {
                pending.finalCheckpointDone = true
                phase = .handling(pending)
                requestCheckpoint(nil, index: nil, attempt: 1, into: &actions)
                return
            }
            answer(pending.responseFor, next: .finished, into: &actions)

        case .shutdownRequested(let deadline):
            if tracker.incompleteCount > 0, now < deadline { return }
            if !pending.finalCheckpointDone, !checkpointingStopped {
                pending.finalCheckpointDone = true
                phase = .handling(pending)
                if let safe = tracker.checkpointable, safe.index != lastCheckpointedIndex {
                    requestCheckpoint(safe.position, index: safe.index, attempt: 1, into: &actions)
                    return
                }
            }
            answer(pending.responseFor, next: .idle, into: &actions)
        }
    }

    private mutating func checkpointReplied(error: String?, now: NIODeadline, into actions: inout [Action]) {
        guard case .awaitingReply(let position, let index, let attempt) = checkpoint else {
            actions.append(.report(.protocolViolation("checkpoint reply without a checkpoint request")))
            return
        }
        checkpoint = .idle
        lastCheckpointTime = now
        guard let error else {
            if let index { lastCheckpointedIndex = index }
            actions.append(.report(.checkpointed(position)))
            advance(now: now, into: &actions)
            return
        }
        switch error {
        case "ThrottlingException", "KinesisClientLibDependencyException":
            let atShardEnd: Bool
            if case .handling(let pending) = phase, case .shardEnd = pending.kind { atShardEnd = true } else { atShardEnd = false }
            if atShardEnd || attempt < configuration.checkpointAttempts {
                let delay = Self.backoff(
                    attempt: attempt,
                    initial: configuration.checkpointRetryDelay,
                    maximum: configuration.checkpointRetryMaximumDelay
                )
                checkpoint = .backingOff(position: position, index: index, attempt: attempt, until: now + delay)
                actions.append(.report(.checkpointRetrying(error: error, attempt: attempt, delay: delay)))
            } else {
                actions.append(.report(.checkpointFailed(error: error, position: position)))
            }
        case "ShutdownException":
            checkpointingStopped = true
            actions.append(.report(.checkpointingStopped))
        default:
            actions.append(.report(.checkpointFailed(error: error, position: position)))
        }
        advance(now: now, into: &actions)
    }

    private func shouldCheckpointOnInterval(now: NIODeadline) -> Bool {
        guard !checkpointingStopped, let safe = tracker.checkpointable, safe.index != lastCheckpointedIndex else {
            return false
        }
        return now - lastCheckpointTime >= configuration.checkpointInterval
    }

    private mutating func requestCheckpoint(
        _ position: SequencePosition?,
        index: UInt64?,
        attempt: Int,
        into actions: inout [Action]
    ) {
        checkpoint = .awaitingReply(position: position, index: index, attempt: attempt)
        actions.append(.send(.checkpoint(
            sequenceNumber: position?.sequenceNumber.text,
            subSequenceNumber: position?.subSequenceNumber
        )))
    }

    private mutating func answer(_ responseFor: String, next: Phase, into actions: inout [Action]) {
        actions.append(.send(.status(responseFor: responseFor)))
        phase = next
    }

    private mutating func finishWithoutCheckpoint(responseFor: String, into actions: inout [Action]) {
        actions.append(.report(.leaseLost))
        checkpoint = .idle
        holdingStatus = false
        retryDue.removeAll()
        answer(responseFor, next: .finished, into: &actions)
    }

    /// Checks that a new message may start now; reports a violation otherwise.
    private mutating func begin(_ action: String, into actions: inout [Action]) -> Bool {
        switch phase {
        case .idle:
            return true
        case .awaitingInitialize:
            _ = violation("\(action) before initialize", into: &actions)
        case .handling(let pending):
            _ = violation("\(action) while \(pending.responseFor) still awaits its status", into: &actions)
        case .finished:
            _ = violation("\(action) after the final status", into: &actions)
        case .exited:
            break
        }
        return false
    }

    private mutating func violation(_ message: String, into actions: inout [Action]) -> [Action] {
        actions.append(.report(.protocolViolation(message)))
        actions.append(.exit(code: 1))
        phase = .exited
        return actions
    }

    private mutating func rearmTimer(now: NIODeadline, into actions: inout [Action]) {
        var deadline: NIODeadline?
        func consider(_ candidate: NIODeadline) {
            deadline = deadline.map { min($0, candidate) } ?? candidate
        }
        if case .backingOff(_, _, _, let until) = checkpoint { consider(until) }
        if case .handling(let pending) = phase, case .idle = checkpoint {
            switch pending.kind {
            case .processRecords where holdingStatus && !checkpointingStopped
                && tracker.checkpointable.map({ $0.index != lastCheckpointedIndex }) == true:
                // Something new to checkpoint while the status is held: wake up when the
                // interval allows it (acks arriving meanwhile re-evaluate anyway).
                consider(lastCheckpointTime + configuration.checkpointInterval)
            case .shutdownRequested(let drainDeadline) where tracker.incompleteCount > 0:
                consider(drainDeadline)
            case .processRecords, .shutdownRequested, .shardEnd:
                break
            }
        }
        for due in retryDue.values { consider(due) }
        if case .exited = phase { deadline = nil }
        if deadline != armedTimer {
            armedTimer = deadline
            actions.append(.scheduleTimer(deadline))
        }
    }

    static func backoff(attempt: Int, initial: TimeAmount, maximum: TimeAmount) -> TimeAmount {
        backoffDelay(attempt: attempt, initial: initial, maximum: maximum)
    }

    /// `initial × 2^(attempt−1)`, capped at `maximum`.
    public static func backoffDelay(attempt: Int, initial: TimeAmount, maximum: TimeAmount) -> TimeAmount {
        let shift = min(max(attempt - 1, 0), 20)
        let nanoseconds = initial.nanoseconds.multipliedReportingOverflow(by: Int64(1) << shift)
        if nanoseconds.overflow { return maximum }
        return .nanoseconds(min(nanoseconds.partialValue, maximum.nanoseconds))
    }
}
