import NIOCore

/// The reducer's logic: accept items from mappers within the credit granted to each, form
/// batches by size and time, hand one batch at a time to the processor, and acknowledge every
/// item on the connection it came in on, applying the error policy to failures.
///
/// Order: items are processed in the order they arrived, and a failure holds back only its own
/// key. A failed item and every later item of its key — including later items of the same
/// batch, which the processor may already have handled (they run again after it) — wait for a
/// doubling backoff and are then processed, in order, before any newer item of that key; other
/// keys go on meanwhile. After `retries` (`nil` = never) the failed item is written to the
/// dead-letter sink and acknowledged `deadLettered` when one is configured, or acknowledged
/// `failed` so its worker keeps its record incomplete and resends it later; the key's other
/// items then go on. Items the mapper flagged with an error cannot succeed on retry: they go to
/// the error policy at once. With `maxRecordAge`, an item whose record is older than that when
/// its turn comes is dead-lettered as expired instead of processed. Nothing is ever skipped
/// silently.
public struct ReducerStateMachine: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var index: UInt32
        public var instance: UInt64
        /// Credit window granted to each mapper connection.
        public var mapperWindow = FlowDefaults.mapperWindow
        /// The group's mapper count when known: a mapper outside `0..<count` is refused.
        public var mapperCount: Int?
        /// Most items per processor batch.
        public var batchSize = ProcessingDefaults.batchSize
        /// A partial batch is processed once its oldest item has waited this long.
        public var batchTimeout: TimeAmount = ProcessingDefaults.batchTimeout
        /// Retries of a failed item before the dead-letter sink (or a `failed` ack); nil = unlimited.
        public var retries: Int?
        /// Delays between retries of a failed item: doubling from 100 ms up to 30 s by default.
        public var retryBackoff = ExponentialBackoff(initial: ProcessingDefaults.retryDelay, maximum: ProcessingDefaults.maxRetryDelay)
        /// Whether a dead-letter sink is configured.
        public var hasDeadLetterSink = false
        /// Items whose record's `approximateArrivalTimestamp` is older than this when their turn
        /// comes are dead-lettered as expired (needs a dead-letter sink); nil = no limit.
        public var maxRecordAge: TimeAmount?

        public init(index: UInt32, instance: UInt64) {
            self.index = index
            self.instance = instance
        }
    }

    /// An item waiting here, with where it came from and how often it failed.
    public struct PendingItem: Hashable, Sendable {
        // `source` first: the memberwise initializer (which the public one delegates to, see
        // below) then has labels of its own.
        public var source: ConnectionID
        public var item: WireItem
        public var attempts: Int
        public var lastError: String?
        /// Why it goes to the dead-letter sink, once it does.
        public var reason: DeadLetterReason?
        var arrival: NIODeadline
        /// When its record becomes older than `maxRecordAge` (nil: never).
        var expiry: NIODeadline?
    }

    public enum Action: Sendable {
        case send(ConnectionID, OutboundFrame)
        case close(ConnectionID, ErrorFrame?)
        /// Run the processor on these items and report with ``batchProcessed(_:now:)``.
        case process([PendingItem])
        /// Write these items to the dead-letter sink and report with ``deadLettered(_:now:)``.
        case deadLetter([PendingItem])
        case scheduleTimer(NIODeadline?)
        case report(Event)
    }

    public enum Event: Hashable, Sendable {
        case mapperJoined(index: UInt32)
        case mapperLeft(index: UInt32, droppedItems: Int)
        /// `items` failed (`attempt` times); they and `heldBack` later items of their keys wait.
        case retrying(items: Int, heldBack: Int, attempt: Int, delay: TimeAmount, error: String)
        case gaveUp(items: Int, error: String, deadLettered: Bool)
        /// Items whose records were older than `maxRecordAge` go to the dead-letter sink.
        case expired(items: Int)
        case acksDropped(count: Int)
        case refused(ConnectionID, String)
    }

    private struct Mapper: Sendable {
        var handshake: HandshakeStateMachine
        var credit: CreditWindow
        var index: UInt32? { handshake.peer?.index }
    }

    public let configuration: Configuration
    private var mappers: [ConnectionID: Mapper] = [:]
    private var queue = ArrivalQueue()
    /// Queued items the mapper flagged with an error.
    private var poisonedInQueue = 0
    private var held = HeldKeys()
    private var processing = false
    /// A dead-letter write is in progress; `awaitingDeadLetter` go in the next one.
    private var deadLettering = false
    private var awaitingDeadLetter: [PendingItem] = []
    private var armedTimer: NIODeadline?
    private var draining = false
    public private(set) var itemsProcessed = 0
    public private(set) var itemsFailed = 0
    public private(set) var itemsDeadLettered = 0
    public private(set) var itemsExpired = 0
    /// Failed processing attempts that are retried.
    public private(set) var itemsRetried = 0
    /// Items dead-lettered, by reason.
    public private(set) var deadLetteredByReason: [DeadLetterReason: Int] = [:]

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public var hello: Hello {
        Hello(role: .reducer, index: configuration.index, instance: configuration.instance, name: "reducer-\(configuration.index)")
    }

    public var mapperCount: Int { mappers.values.filter { $0.index != nil }.count }
    public var queuedItems: Int { queue.count + held.count + awaitingDeadLetter.count }
    /// Items held back behind a failure of their key, and how many keys are held.
    public var heldItems: Int { held.count }
    public var heldKeys: Int { held.keyCount }

    /// The keys held longest: each one's first held item (the one that failed), since when its
    /// key has been held, and how many items wait with it; at most `limit`, oldest first.
    public func longestHeld(limit: Int) -> [(item: PendingItem, since: NIODeadline, waiting: Int)] {
        held.longestHeld(limit: limit)
    }
    /// Whether nothing is queued, held or being processed.
    public var isIdle: Bool { queue.isEmpty && held.isEmpty && awaitingDeadLetter.isEmpty && !processing && !deadLettering }

    // MARK: Events

    public mutating func connectionOpened(_ id: ConnectionID) -> [Action] {
        mappers[id] = Mapper(
            handshake: HandshakeStateMachine(policy: .accepting(own: .reducer, roles: [.mapper: configuration.mapperCount])),
            credit: CreditWindow(window: configuration.mapperWindow))
        return [.send(id, .hello(hello))]
    }

    /// A frame arrived. `epochMilliseconds` is the wall clock (records' arrival timestamps are
    /// wall-clock times), used for `maxRecordAge`.
    public mutating func frameReceived(_ frame: Frame, from id: ConnectionID, now: NIODeadline, epochMilliseconds: Int64) -> [Action] {
        guard var mapper = mappers[id] else { return [] }
        var actions: [Action] = []
        guard mapper.handshake.isEstablished else {
            switch mapper.handshake.firstFrameReceived(frame) {
            case .refused(let error):
                return refuse(id, error)
            case .peerRefused:
                mappers[id] = nil
                return [.close(id, nil)]
            case .established(let hello):
                guard !mappers.values.contains(where: { $0.index == hello.index }) else {
                    return refuse(id, ErrorFrame(
                        code: .roleRejected, message: "mapper \(hello.index) is already connected; a second mapper with the same index is refused"))
                }
                mappers[id] = mapper
                return [.send(id, .credit(configuration.mapperWindow)), .report(.mapperJoined(index: hello.index))]
            }
        }
        switch frame {
        case .items(let items):
            let bytes = items.reduce(0) { $0 + $1.encodedSize }
            guard mapper.credit.receive(count: items.count, bytes: bytes) else {
                return refuse(id, ErrorFrame(code: .protocolViolation, message: "\(items.count) items exceed the granted credit"))
            }
            for item in items {
                if item.hasError { poisonedInQueue += 1 }
                var expiry: NIODeadline?
                if let maxAge = configuration.maxRecordAge, let arrival = item.arrivalTimestamp {
                    let ageMilliseconds = max(0, epochMilliseconds - arrival)
                    expiry = now + maxAge - .milliseconds(ageMilliseconds)
                }
                queue.append(item, ArrivalQueue.Arrival(source: id, time: now, expiry: expiry))
            }
            mappers[id] = mapper
        case .drain, .error:
            break
        case .hello, .records, .routedRecords, .acks, .credit, .peerLost:
            return refuse(id, ErrorFrame(code: .protocolViolation, message: "unexpected \(frame.type) from a mapper"))
        }
        advance(now: now, into: &actions)
        return actions
    }

    public mutating func connectionClosed(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        guard let mapper = mappers.removeValue(forKey: id) else { return [] }
        let before = queue.count
        _ = queue.removeAll { _, arrival in arrival.source == id }
        poisonedInQueue = queue.count { $0.error != nil }
        let droppedHeld = held.removeAll(from: id)
        var actions: [Action] = []
        if let index = mapper.index {
            actions.append(.report(.mapperLeft(index: index, droppedItems: before - queue.count + droppedHeld)))
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// The processor finished the batch handed out by ``Action/process(_:)``: the items at
    /// the positions in `failures` failed with those errors, every other one succeeded (the
    /// shape a processor reports, so the usual all-ok batch costs nothing per item).
    public mutating func batchProcessed(_ batch: [PendingItem], failures: [Int: String], now: NIODeadline) -> [Action] {
        precondition(failures.keys.allSatisfy { batch.indices.contains($0) }, "a failure outside the batch")
        processing = false
        var actions: [Action] = []
        guard !failures.isEmpty else {
            // The usual case, every item ok, acknowledges the batch as it is.
            held.batchSettled()
            itemsProcessed += batch.count
            acknowledge(batch, status: .ok, into: &actions)
            advance(now: now, into: &actions)
            return actions
        }
        var succeeded: [PendingItem] = []
        var exhausted: [PendingItem] = []
        // Per failed key, in order: the failed item, then every later item of the key.
        var holds: [(key: ByteBuffer, items: [PendingItem])] = []
        var holdOf: [ByteBuffer: Int] = [:]
        var maximumAttempt = 0
        var firstError = ""
        for (position, pending) in batch.enumerated() {
            var pending = pending
            let error = failures[position]
            if let error {
                pending.attempts += 1
                pending.lastError = error
                if firstError.isEmpty { firstError = error }
            }
            let key = pending.item.key
            if let hold = holdOf[key] {
                holds[hold].items.append(pending)
            } else if error != nil {
                if configuration.retries.map({ pending.attempts > $0 }) ?? false {
                    pending.reason = .failed
                    exhausted.append(pending)
                } else {
                    maximumAttempt = max(maximumAttempt, pending.attempts)
                    holdOf[key] = holds.count
                    holds.append((key, [pending]))
                }
            } else {
                succeeded.append(pending)
            }
        }
        itemsProcessed += succeeded.count
        acknowledge(succeeded, status: .ok, into: &actions)
        if !holds.isEmpty {
            let delay = configuration.retryBackoff.delay(attempt: maximumAttempt)
            let heldItems = holds.reduce(0) { $0 + $1.items.count }
            let retried = failures.count - exhausted.count
            itemsRetried += retried
            for hold in holds {
                let attempt = hold.items[0].attempts
                held.hold(hold.items, key: hold.key, until: now + configuration.retryBackoff.delay(attempt: attempt), now: now)
            }
            actions.append(.report(.retrying(items: retried, heldBack: heldItems - retried, attempt: maximumAttempt, delay: delay, error: firstError)))
        }
        giveUp(exhausted, into: &actions)
        held.batchSettled()
        advance(now: now, into: &actions)
        return actions
    }

    /// The dead-letter sink stored these items durably.
    public mutating func deadLettered(_ items: [PendingItem], now: NIODeadline) -> [Action] {
        deadLettering = false
        itemsDeadLettered += items.count
        for item in items { deadLetteredByReason[item.reason ?? .failed, default: 0] += 1 }
        var actions: [Action] = []
        acknowledge(items, status: .deadLettered, into: &actions)
        startDeadLetterWrite(into: &actions)
        advance(now: now, into: &actions)
        return actions
    }

    public mutating func timerFired(now: NIODeadline) -> [Action] {
        armedTimer = nil
        var actions: [Action] = []
        advance(now: now, into: &actions)
        return actions
    }

    /// Graceful shutdown: process what is queued without waiting for the batch timeout.
    public mutating func drain(now: NIODeadline) -> [Action] {
        draining = true
        var actions: [Action] = []
        advance(now: now, into: &actions)
        return actions
    }

    // MARK: Decisions

    private mutating func advance(now: NIODeadline, into actions: inout [Action]) {
        defer { rearm(now: now, into: &actions) }
        guard !processing else { return }
        // Items the mapper flagged cannot succeed: straight to the error policy.
        if poisonedInQueue > 0 {
            let poisoned = queue.removeAll { item, _ in item.error != nil }.map { pending in
                var item = pending
                item.lastError = pending.item.error
                item.reason = .invalid
                return item
            }
            poisonedInQueue = 0
            giveUp(poisoned, into: &actions)
        }
        let dueHolds = held.nextDue.map { $0 <= now } ?? false
        if !dueHolds {
            guard let oldest = queue.oldestArrival,
                  queue.count >= configuration.batchSize || now - oldest >= configuration.batchTimeout || draining
            else { return }
        }
        var batch = held.takeDue(now: now, limit: configuration.batchSize)
        batch.reserveCapacity(configuration.batchSize)
        var expired: [PendingItem] = []
        if configuration.maxRecordAge != nil {
            batch.removeAll { pending in
                guard isExpired(pending, now: now) else { return false }
                expired.append(pending)
                return true
            }
        }
        while batch.count < configuration.batchSize, !queue.isEmpty {
            if configuration.maxRecordAge == nil, held.isEmpty {
                // The usual case, straight into the batch (a named value in between is copied).
                batch.append(queue.removeFirst())
                continue
            }
            let next = queue.removeFirst()
            if configuration.maxRecordAge != nil, isExpired(next, now: now) {
                expired.append(next)
            } else if !held.isEmpty, held.isHeld(next.item.key) {
                held.append(next)
            } else {
                batch.append(next)
            }
        }
        if !expired.isEmpty {
            let maxAge = configuration.maxRecordAge!
            expired = expired.map { pending in
                var item = pending
                item.reason = .expired
                item.lastError = "its record was older than --max-record-age \(maxAge.prettyDescription)"
                return item
            }
            itemsExpired += expired.count
            actions.append(.report(.expired(items: expired.count)))
            awaitingDeadLetter += expired
            startDeadLetterWrite(into: &actions)
        }
        guard !batch.isEmpty else { return }
        processing = true
        actions.append(.process(batch))
    }

    private func isExpired(_ pending: PendingItem, now: NIODeadline) -> Bool {
        guard let expiry = pending.expiry else { return false }
        return now >= expiry
    }

    private mutating func giveUp(_ items: [PendingItem], into actions: inout [Action]) {
        guard !items.isEmpty else { return }
        let error = items[0].lastError ?? "failed"
        actions.append(.report(.gaveUp(items: items.count, error: error, deadLettered: configuration.hasDeadLetterSink)))
        if configuration.hasDeadLetterSink {
            awaitingDeadLetter += items
            startDeadLetterWrite(into: &actions)
        } else {
            itemsFailed += items.count
            acknowledge(items, status: .failed, into: &actions)
        }
    }

    /// Hands the items waiting for the dead-letter sink to it, unless a write is in progress
    /// (they go in the next one).
    private mutating func startDeadLetterWrite(into actions: inout [Action]) {
        guard !deadLettering, !awaitingDeadLetter.isEmpty else { return }
        deadLettering = true
        actions.append(.deadLetter(awaitingDeadLetter))
        awaitingDeadLetter = []
    }

    private mutating func acknowledge(_ done: [PendingItem], status: AckStatus, into actions: inout [Action]) {
        guard !done.isEmpty else { return }
        // Items of a batch mostly come from one mapper: each run of the same source is written
        // in one pass (its tokens copied back to back), with one lookup per run.
        var bySource: [ConnectionID: (acks: AckBatch, credit: Credit)] = [:]
        var dropped = 0
        var runStart = done.startIndex
        while runStart < done.endIndex {
            let source = done[runStart].source
            var runEnd = runStart + 1
            while runEnd < done.endIndex, done[runEnd].source == source { runEnd += 1 }
            defer { runStart = runEnd }
            guard mappers[source] != nil else {
                dropped += runEnd - runStart
                continue
            }
            var entry = bySource.removeValue(forKey: source) ?? (AckBatch(minimumCapacity: done.count), Credit(count: 0, bytes: 0))
            // An item's wire bytes start with its token: the ack copies it. By position, so no
            // item is copied (a copy costs reference counting).
            let bytes = entry.acks.appendAcks(count: runEnd - runStart, status: status) { offset in done[runStart + offset].item.encoded }
            entry.credit.count += UInt32(runEnd - runStart)
            entry.credit.bytes += UInt64(bytes)
            bySource[source] = entry
        }
        for (source, returned) in bySource.sorted(by: { $0.key < $1.key }) {
            actions.append(.send(source, .acks(returned.acks)))
            mappers[source]!.credit.release(count: Int(returned.credit.count), bytes: Int(returned.credit.bytes))
            if let credit = mappers[source]!.credit.takeReturn(drained: true) {
                actions.append(.send(source, .credit(credit)))
            }
        }
        if dropped > 0 { actions.append(.report(.acksDropped(count: dropped))) }
    }

    private mutating func rearm(now: NIODeadline, into actions: inout [Action]) {
        var deadline: NIODeadline?
        if !processing {
            if let oldest = queue.oldestArrival, queue.count < configuration.batchSize, !draining {
                deadline = oldest + configuration.batchTimeout
            }
            if let due = held.nextDue { deadline = min(deadline ?? due, due) }
        }
        if deadline != armedTimer {
            armedTimer = deadline
            actions.append(.scheduleTimer(deadline))
        }
    }

    private mutating func refuse(_ id: ConnectionID, _ error: ErrorFrame) -> [Action] {
        mappers[id] = nil
        return [.report(.refused(id, error.message)), .close(id, error)]
    }
}

extension ReducerStateMachine.PendingItem {
    // In an extension, delegating to the memberwise initializer: an initializer that assigns
    // the fields one by one makes the optimizer copy the value (two reference counts) wherever
    // it is then stored.
    public init(item: WireItem, source: ConnectionID, attempts: Int = 0, lastError: String? = nil, reason: DeadLetterReason? = nil,
                arrival: NIODeadline, expiry: NIODeadline? = nil) {
        self.init(source: source, item: item, attempts: attempts, lastError: lastError, reason: reason, arrival: arrival, expiry: expiry)
    }
}
