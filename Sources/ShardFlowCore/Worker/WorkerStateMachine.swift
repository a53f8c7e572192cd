import NIOCore

/// The worker: the child side of the MultiLangDaemon exchange for one shard, composed with its
/// link to a router (``RouterLinkStateMachine``), as a pure state machine.
///
/// It takes past-tense events (a daemon message arrived, a router frame arrived, a connection
/// opened or closed, a timer fired, stdin closed) and returns actions for the I/O layer (write
/// a line to the daemon, send a frame, connect, arm the timer, report, exit). It owns the
/// shard's ``CheckpointTracker`` and applies the checkpoint rule:
///
/// * `processRecords`: register the records; checkpoint the safe position when the interval has
///   passed and it moved; answer the status at once unless `maxPending` records are
///   incomplete or `maxHeld` records are held (from the oldest incomplete one on), in which case
///   the status waits until fewer than `lowWater` are incomplete and fewer than half of
///   `maxHeld` are held (checkpointing on the interval meanwhile).
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
        /// Random per process start; sent in the worker's HELLO.
        public var instance: UInt64 = 0
        /// The stream this worker's shard belongs to (`--stream`), carried by every item.
        public var stream = ""
        /// Batching of the router link.
        public var link = RouterLinkStateMachine.Configuration()
        /// Incomplete records at which the `processRecords` status is held back (backpressure).
        public var maxPending: Int = ProcessingDefaults.maxPending
        /// A held status is released when incomplete records drop below this.
        public var lowWater: Int = ProcessingDefaults.maxPending / 2
        /// Records held — from the oldest incomplete one to the newest, complete or not — at
        /// which the status is held back too (released below half of it). Records complete
        /// behind an incomplete one stay (the checkpoint cannot pass it), so this bounds the
        /// worker's memory when one record stays incomplete while later ones complete.
        public var maxHeld: Int = ProcessingDefaults.maxHeld(maxPending: ProcessingDefaults.maxPending)
        /// Minimum time between checkpoints while records flow.
        public var checkpointInterval: TimeAmount = ProcessingDefaults.checkpointInterval
        /// Delays between retries of a retryable checkpoint error.
        public var checkpointRetryBackoff = ExponentialBackoff(initial: .milliseconds(200), maximum: .seconds(5))
        /// Attempts for a retryable checkpoint error during `processRecords` or
        /// `shutdownRequested` before giving up until the next opportunity. At shard end the
        /// worker retries without limit, since the shard cannot complete otherwise.
        public var checkpointAttempts: Int = 5
        /// How long `shutdownRequested` waits for in-flight records before checkpointing.
        public var shutdownDrainTimeout: TimeAmount = ProcessingDefaults.shutdownTimeout
        /// Delays between resends of a record one of whose items failed.
        public var failedRecordBackoff = ExponentialBackoff(initial: .seconds(1), maximum: .seconds(30))

        public init() {}
    }

    public enum Action: Sendable {
        /// Write this line to the daemon (stdout).
        case writeLine(ChildMessage)
        /// Start connecting to the routers (once, after `initialize`).
        case connect(shardId: String)
        /// Send a frame to the router.
        case send(ConnectionID, OutboundFrame)
        /// Send the error (when given) and close the connection; the I/O layer reconnects.
        case close(ConnectionID, ErrorFrame?)
        /// Arm the single timer for this deadline (replacing any earlier one); nil cancels it.
        case scheduleTimer(NIODeadline?)
        /// Something worth logging or counting happened.
        case report(Event)
        /// The worker is done: exit with this code.
        case exit(code: Int32)
    }

    public enum Event: Hashable, Sendable {
        case initialized(shardId: String, checkpoint: String?)
        /// A checkpoint succeeded; nil = the null ("latest" / SHARD_END) checkpoint.
        case checkpointed(SequencePosition?)
        case checkpointRetrying(error: CheckpointError, attempt: Int, delay: TimeAmount)
        /// A checkpoint failed and will not be retried now.
        case checkpointFailed(error: CheckpointError, position: SequencePosition?)
        /// `ShutdownException`: the lease is gone; no more checkpoints until the shutdown message.
        case checkpointingStopped
        /// The status is held back: `incomplete` records are incomplete and `held` records are
        /// held (from the oldest incomplete one on).
        case backpressureApplied(incomplete: Int, held: Int)
        case backpressureReleased(incomplete: Int, held: Int)
        /// The status stays held because `held` records are held behind record `oldest`, which
        /// is incomplete (reported once per hold): it holds the shard.
        case heldBehind(oldest: UInt64, held: Int)
        /// An item of this record failed; the record will be resent.
        case recordFailed(record: UInt64, attempt: Int, delay: TimeAmount)
        /// An acknowledgement could not be applied.
        case ackIgnored(record: UInt64, reason: String)
        case redelivering(records: Int, reason: String)
        case leaseLost
        case shardEnded
        /// The daemon sent a line that is not a valid message: the worker exits (as the official
        /// clients do), so the daemon restarts the shard from its last checkpoint.
        case invalidLine(String)
        /// The daemon broke the protocol (for example a message before the previous status).
        case protocolViolation(String)
        /// stdin closed before the exchange ended.
        case unexpectedEndOfInput
        /// Something happened on the router link.
        case link(RouterLinkStateMachine.Event)
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

        var responseFor: MLDAction
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
    public private(set) var tracker = CheckpointTracker()
    public private(set) var link: RouterLinkStateMachine
    public private(set) var shardId: String?
    private var phase = Phase.awaitingInitialize
    private var checkpoint = CheckpointState.idle
    private var checkpointingStopped = false
    private var holdingStatus = false
    /// This hold's `heldBehind` report went out.
    private var reportedHeldBehind = false
    /// `shutdownRequested` was answered: the daemon closing stdin next is the normal end.
    private var shutdownAnswered = false
    /// Index of the record last checkpointed (nil: none since start).
    private var lastCheckpointedIndex: UInt64?
    private var lastCheckpointTime: NIODeadline
    private var failedAttempts: [UInt64: Int] = [:]
    private var retryDue: [UInt64: NIODeadline] = [:]
    private var armedTimer: NIODeadline?

    public init(configuration: Configuration = Configuration(), now: NIODeadline) {
        self.configuration = configuration
        self.link = RouterLinkStateMachine(configuration: configuration.link)
        self.lastCheckpointTime = now
    }

    /// Index the next record will get (the I/O layer encodes records before registering them).
    public var nextRecordIndex: UInt64 { tracker.nextIndex }

    /// Item acknowledgements received that completed an item (processed or dead-lettered).
    public private(set) var itemsAcknowledged = 0

    /// Whether the `processRecords` status is held back (`maxPending` records incomplete or
    /// `maxHeld` held).
    public var isHoldingBack: Bool { holdingStatus }

    /// How often an item of `record` was acknowledged `failed` (its worker resends it).
    public func failedAttempts(of record: UInt64) -> Int { failedAttempts[record] ?? 0 }

    /// The oldest incomplete record: its index and position.
    public var oldestIncomplete: (index: UInt64, position: SequencePosition)? {
        guard tracker.incompleteCount > 0, let position = link.store.position(of: tracker.firstIndex) else { return nil }
        return (tracker.firstIndex, position)
    }

    /// The safe checkpoint: the last record of the complete prefix, with its position.
    private var checkpointable: (index: UInt64, position: SequencePosition)? {
        guard let index = tracker.checkpointable else { return nil }
        if let released = link.store.lastReleased, released.index == index { return released }
        return link.store.position(of: index).map { (index, $0) }
    }

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
            var encoded = ByteBuffer()
            var ends: [Int] = []
            for (offset, record) in records.enumerated() {
                WireRecord(index: tracker.nextIndex + UInt64(offset), subSequenceNumber: record.subSequenceNumber.map { UInt64($0) },
                           arrivalTimestamp: record.approximateArrivalTimestamp,
                           sequenceNumber: ByteBuffer(string: record.sequenceNumber),
                           partitionKey: record.partitionKey.map { ByteBuffer(string: $0) },
                           data: ByteBuffer(bytes: record.data)).write(to: &encoded)
                ends.append(encoded.readableBytes)
            }
            return processRecordsReceived(ReceivedRecords(encoded: encoded, ends: ends), now: now)
        case .initialize(let shardId, let sequenceNumber, _):
            guard case .awaitingInitialize = phase else {
                return violation("initialize received twice", into: &actions)
            }
            self.shardId = shardId
            actions.append(.report(.initialized(shardId: shardId, checkpoint: sequenceNumber)))
            actions.append(.writeLine(.status(responseFor: .initialize)))
            actions.append(.connect(shardId: shardId))
            phase = .idle
        case .leaseLost:
            guard begin(.leaseLost, into: &actions) else { return actions }
            finishWithoutCheckpoint(responseFor: .leaseLost, into: &actions)
        case .shutdown(let reason) where !reason.isShardEnd:
            guard begin(.shutdown, into: &actions) else { return actions }
            finishWithoutCheckpoint(responseFor: .shutdown, into: &actions)
        case .shardEnded, .shutdown:
            guard begin(message.action, into: &actions) else { return actions }
            actions.append(.report(.shardEnded))
            phase = .handling(Pending(responseFor: message.action, kind: .shardEnd))
        case .shutdownRequested:
            if case .awaitingInitialize = phase {
                actions.append(.writeLine(.status(responseFor: .shutdownRequested)))
                return actions
            }
            guard begin(.shutdownRequested, into: &actions) else { return actions }
            let deadline = now + configuration.shutdownDrainTimeout
            phase = .handling(Pending(responseFor: .shutdownRequested, kind: .shutdownRequested(deadline: deadline)))
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// A `processRecords` message arrived with these records (encoded with the indices from
    /// ``nextRecordIndex`` on), in order.
    public mutating func processRecordsReceived(_ records: ReceivedRecords, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        guard begin(.processRecords, into: &actions) else { return actions }
        let first = tracker.nextIndex
        tracker.append(count: records.count)
        link.store(records)
        if tracker.nextIndex > first { send(first..<tracker.nextIndex, into: &actions) }
        phase = .handling(Pending(responseFor: .processRecords, kind: .processRecords))
        if !holdingStatus, tracker.incompleteCount >= configuration.maxPending || tracker.heldCount >= configuration.maxHeld {
            holdingStatus = true
            reportedHeldBehind = false
            actions.append(.report(.backpressureApplied(incomplete: tracker.incompleteCount, held: tracker.heldCount)))
            reportHeldBehind(into: &actions)
        }
        advance(now: now, into: &actions)
        return actions
    }

    // MARK: Router link events

    /// A connection to a router is up.
    public mutating func connectionOpened(_ id: ConnectionID) -> [Action] {
        var actions: [Action] = []
        let hello = Hello(role: .worker, index: 0, instance: configuration.instance, name: shardId ?? "unknown",
                          stream: configuration.stream)
        perform(link.connectionOpened(id, hello: hello), now: nil, into: &actions)
        return actions
    }

    /// A frame arrived from the router.
    public mutating func frameReceived(_ frame: Frame, from id: ConnectionID, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        perform(link.frameReceived(frame, from: id), now: now, into: &actions)
        sendQueued(into: &actions)
        advance(now: now, into: &actions)
        return actions
    }

    /// A connection closed (the I/O layer reconnects).
    public mutating func connectionClosed(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        perform(link.connectionClosed(id), now: now, into: &actions)
        advance(now: now, into: &actions)
        return actions
    }

    /// Carries out what the link asked for.
    private mutating func perform(_ linkActions: [RouterLinkStateMachine.Action], now: NIODeadline?, into actions: inout [Action]) {
        for action in linkActions {
            switch action {
            case .send(let id, let frame): actions.append(.send(id, frame))
            case .close(let id, let error): actions.append(.close(id, error))
            case .report(let event): actions.append(.report(.link(event)))
            case .deliverAcks(let acks): acksReceived(acks, now: now ?? lastCheckpointTime, into: &actions)
            case .pathBroken(let reason): pathBroken(reason: reason, into: &actions)
            }
        }
    }

    /// Acknowledgements for this worker's records arrived.
    private mutating func acksReceived(_ acks: AckBatch, now: NIODeadline, into actions: inout [Action]) {
        acks.forEachAck { record, item, itemCount, status in
            if status.completesItem {
                itemsAcknowledged += 1
                switch tracker.itemCompleted(record: record, item: item, itemCount: itemCount) {
                case .recorded, .duplicate, .alreadyComplete:
                    break
                case .unknownRecord:
                    actions.append(.report(.ackIgnored(record: record, reason: "no such record")))
                case .itemCountMismatch(let expected, let received):
                    actions.append(.report(.ackIgnored(
                        record: record,
                        reason: "item count \(received) differs from the \(expected) acknowledged before"
                    )))
                }
            } else if !tracker.isComplete(record), record < tracker.nextIndex, retryDue[record] == nil {
                let attempt = (failedAttempts[record] ?? 0) + 1
                failedAttempts[record] = attempt
                let delay = configuration.failedRecordBackoff.delay(attempt: attempt)
                retryDue[record] = now + delay
                actions.append(.report(.recordFailed(record: record, attempt: attempt, delay: delay)))
            }
        }
        if !failedAttempts.isEmpty {
            for record in failedAttempts.keys where tracker.isComplete(record) {
                failedAttempts[record] = nil
                retryDue[record] = nil
            }
        }
        link.release(below: tracker.firstIndex)
    }

    /// The path records took downstream broke (a router connection closed, or a peer further
    /// down was lost): every incomplete record is sent again.
    private mutating func pathBroken(reason: String, into actions: inout [Action]) {
        guard !isFinished else { return }
        let incomplete = tracker.incompleteRecords
        retryDue.removeAll()
        if !incomplete.isEmpty {
            actions.append(.report(.redelivering(records: incomplete.count, reason: reason)))
            send(incomplete, into: &actions)
        }
    }

    /// Queues records for the router and sends what its credit allows.
    private mutating func send(_ indices: some Sequence<UInt64>, into actions: inout [Action]) {
        link.enqueue(indices)
        sendQueued(into: &actions)
    }

    private mutating func sendQueued(into actions: inout [Action]) {
        guard link.queuedCount > 0 else { return }
        let tracker = self.tracker
        perform(link.pump(isComplete: tracker.isComplete), now: nil, into: &actions)
    }

    /// The timer armed by ``Action/scheduleTimer(_:)`` fired.
    public mutating func timerFired(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        armedTimer = nil
        let due = retryDue.filter { $0.value <= now }.keys.sorted()
        if !due.isEmpty {
            for record in due { retryDue[record] = nil }
            let stillIncomplete = due.filter { !tracker.isComplete($0) }
            if !stillIncomplete.isEmpty { send(stillIncomplete, into: &actions) }
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// A line from the daemon could not be parsed (invalid JSON, an unknown action, a missing or
    /// invalid field): the worker fails, as the official clients do — nothing of the line is
    /// processed, nothing more is answered, and it exits with status 1 so the daemon restarts
    /// the shard from its last checkpoint instead of waiting for an answer forever.
    public mutating func invalidLineReceived(_ error: MLDError) -> [Action] {
        guard phase != .exited else { return [] }
        var actions: [Action] = [.report(.invalidLine(error.description)), .exit(code: 1)]
        if armedTimer != nil {
            armedTimer = nil
            actions.insert(.scheduleTimer(nil), at: 0)
        }
        phase = .exited
        return actions
    }

    /// stdin reached its end: the worker exits (cleanly after the final status).
    public mutating func inputClosed() -> [Action] {
        var actions: [Action] = []
        if case .finished = phase {
            actions.append(.exit(code: 0))
        } else if phase == .idle, shutdownAnswered {
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
            if tracker.heldCount < configuration.maxHeld / 2 {
                holdingStatus = false
                actions.append(.report(.backpressureReleased(incomplete: tracker.incompleteCount, held: tracker.heldCount)))
            } else {
                reportHeldBehind(into: &actions)
            }
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
            if shouldCheckpointOnInterval(now: now), let safe = checkpointable {
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
                if let safe = checkpointable, safe.index != lastCheckpointedIndex {
                    requestCheckpoint(safe.position, index: safe.index, attempt: 1, into: &actions)
                    return
                }
            }
            shutdownAnswered = true
            answer(pending.responseFor, next: .idle, into: &actions)
        }
    }

    private mutating func checkpointReplied(error: CheckpointError?, now: NIODeadline, into actions: inout [Action]) {
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
        case .throttling, .dependency:
            let atShardEnd: Bool
            if case .handling(let pending) = phase, case .shardEnd = pending.kind { atShardEnd = true } else { atShardEnd = false }
            if atShardEnd || attempt < configuration.checkpointAttempts {
                let delay = configuration.checkpointRetryBackoff.delay(attempt: attempt)
                checkpoint = .backingOff(position: position, index: index, attempt: attempt, until: now + delay)
                actions.append(.report(.checkpointRetrying(error: error, attempt: attempt, delay: delay)))
            } else {
                actions.append(.report(.checkpointFailed(error: error, position: position)))
            }
        case .shutdown:
            checkpointingStopped = true
            actions.append(.report(.checkpointingStopped))
        case .invalidState, .illegalArgument, .other:
            actions.append(.report(.checkpointFailed(error: error, position: position)))
        }
        advance(now: now, into: &actions)
    }

    private func shouldCheckpointOnInterval(now: NIODeadline) -> Bool {
        guard !checkpointingStopped, let safe = tracker.checkpointable, safe != lastCheckpointedIndex else {
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
        actions.append(.writeLine(.checkpoint(
            sequenceNumber: position?.sequenceNumber.text,
            subSequenceNumber: position?.subSequenceNumber
        )))
    }

    /// Once per hold, when the records held behind the oldest incomplete one keep the status.
    private mutating func reportHeldBehind(into actions: inout [Action]) {
        guard !reportedHeldBehind, tracker.incompleteCount > 0, tracker.heldCount >= configuration.maxHeld / 2 else { return }
        guard tracker.heldCount >= configuration.maxHeld || tracker.incompleteCount < configuration.lowWater else { return }
        reportedHeldBehind = true
        actions.append(.report(.heldBehind(oldest: tracker.firstIndex, held: tracker.heldCount)))
    }

    private mutating func answer(_ responseFor: MLDAction, next: Phase, into actions: inout [Action]) {
        actions.append(.writeLine(.status(responseFor: responseFor)))
        phase = next
    }

    private mutating func finishWithoutCheckpoint(responseFor: MLDAction, into actions: inout [Action]) {
        actions.append(.report(.leaseLost))
        checkpoint = .idle
        holdingStatus = false
        retryDue.removeAll()
        answer(responseFor, next: .finished, into: &actions)
    }

    /// Checks that a new message may start now; reports a violation otherwise.
    private mutating func begin(_ action: MLDAction, into actions: inout [Action]) -> Bool {
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
                && tracker.checkpointable.map({ $0 != lastCheckpointedIndex }) == true:
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
}
