import DequeModule
import NIOCore

/// The reducer's logic: accept items from mappers within the credit granted to each, form
/// batches by size and time, hand one batch at a time to the processor, and acknowledge every
/// item on the connection it came in on, applying the error policy to failures.
///
/// Error policy: a failed item is retried (the failed items of a batch, in order, before any
/// new item, after a doubling backoff) until `retries` is exhausted (`nil` = never); then it is
/// written to the dead-letter sink and acknowledged `deadLettered` when one is configured, or
/// acknowledged `failed` so its worker keeps its record incomplete and resends it. Items the
/// mapper flagged with an error cannot succeed on retry: they go to the dead-letter sink at once
/// (or are acknowledged `failed`). Nothing is ever skipped silently.
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

        public init(index: UInt32, instance: UInt64) {
            self.index = index
            self.instance = instance
        }
    }

    /// An item waiting here, with where it came from and how often it failed.
    public struct PendingItem: Hashable, Sendable {
        public var item: WireItem
        public var source: ConnectionID
        public var attempts: Int
        public var lastError: String?
        var arrival: NIODeadline
    }

    public enum Outcome: Hashable, Sendable {
        case ok
        case failed(String)
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
        case retrying(items: Int, attempt: Int, delay: TimeAmount, error: String)
        case gaveUp(items: Int, error: String, deadLettered: Bool)
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
    private var queue: Deque<PendingItem> = []
    /// Queued items the mapper flagged with an error.
    private var poisonedInQueue = 0
    private var retry: (items: [PendingItem], due: NIODeadline)?
    private var processing = false
    private var deadLettering = false
    private var armedTimer: NIODeadline?
    private var draining = false
    public private(set) var itemsProcessed = 0
    public private(set) var itemsFailed = 0
    public private(set) var itemsDeadLettered = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public var hello: Hello {
        Hello(role: .reducer, index: configuration.index, instance: configuration.instance, name: "reducer-\(configuration.index)")
    }

    public var mapperCount: Int { mappers.values.filter { $0.index != nil }.count }
    public var queuedItems: Int { queue.count + (retry?.items.count ?? 0) }
    /// Whether nothing is queued, retrying or being processed.
    public var isIdle: Bool { queue.isEmpty && retry == nil && !processing && !deadLettering }

    // MARK: Events

    public mutating func connectionOpened(_ id: ConnectionID) -> [Action] {
        mappers[id] = Mapper(
            handshake: HandshakeStateMachine(policy: .accepting(own: .reducer, roles: [.mapper: configuration.mapperCount])),
            credit: CreditWindow(window: configuration.mapperWindow))
        return [.send(id, .hello(hello))]
    }

    public mutating func frameReceived(_ frame: Frame, from id: ConnectionID, now: NIODeadline) -> [Action] {
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
                if item.error != nil { poisonedInQueue += 1 }
                queue.append(PendingItem(item: item, source: id, attempts: 0, lastError: nil, arrival: now))
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
        queue.removeAll { $0.source == id }
        poisonedInQueue = queue.reduce(0) { $0 + ($1.item.error == nil ? 0 : 1) }
        if var pending = retry {
            pending.items.removeAll { $0.source == id }
            retry = pending.items.isEmpty ? nil : pending
        }
        var actions: [Action] = []
        if let index = mapper.index {
            actions.append(.report(.mapperLeft(index: index, droppedItems: before - queue.count)))
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// The processor finished the batch handed out by ``Action/process(_:)``; `outcomes`
    /// line up with its items.
    public mutating func batchProcessed(_ batch: [PendingItem], outcomes: [Outcome], now: NIODeadline) -> [Action] {
        precondition(batch.count == outcomes.count, "one outcome per item")
        processing = false
        var actions: [Action] = []
        var succeeded: [PendingItem] = []
        var failures: [PendingItem] = []
        for (position, outcome) in outcomes.enumerated() {
            if case .failed(let error) = outcome {
                if failures.isEmpty { succeeded = Array(batch[..<position]) }
                var failed = batch[position]
                failed.attempts += 1
                failed.lastError = error
                failures.append(failed)
            } else if !failures.isEmpty {
                succeeded.append(batch[position])
            }
        }
        // The usual case, every item ok, acknowledges the batch as it is.
        let acknowledged = failures.isEmpty ? batch : succeeded
        itemsProcessed += acknowledged.count
        acknowledge(acknowledged, status: .ok, into: &actions)
        if !failures.isEmpty {
            let attempt = failures.map(\.attempts).max()!
            let error = failures[0].lastError ?? "failed"
            if configuration.retries.map({ attempt <= $0 }) ?? true {
                let delay = configuration.retryBackoff.delay(attempt: attempt)
                retry = (failures, now + delay)
                actions.append(.report(.retrying(items: failures.count, attempt: attempt, delay: delay, error: error)))
            } else {
                giveUp(failures, into: &actions)
            }
        }
        advance(now: now, into: &actions)
        return actions
    }

    /// The dead-letter sink stored these items durably.
    public mutating func deadLettered(_ items: [PendingItem], now: NIODeadline) -> [Action] {
        deadLettering = false
        itemsDeadLettered += items.count
        var actions: [Action] = []
        acknowledge(items, status: .deadLettered, into: &actions)
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
        if let pending = retry {
            guard now >= pending.due else { return }
            retry = nil
            processing = true
            actions.append(.process(pending.items))
            return
        }
        // Items the mapper flagged cannot succeed: straight to the error policy.
        if poisonedInQueue > 0 {
            let poisoned = queue.filter { $0.item.error != nil }.map { pending -> PendingItem in
                var item = pending
                item.lastError = pending.item.error
                return item
            }
            queue.removeAll { $0.item.error != nil }
            poisonedInQueue = 0
            giveUp(poisoned, into: &actions)
        }
        guard let oldest = queue.first else { return }
        guard queue.count >= configuration.batchSize || now - oldest.arrival >= configuration.batchTimeout || draining else {
            return
        }
        let count = min(configuration.batchSize, queue.count)
        var batch: [PendingItem] = []
        batch.reserveCapacity(count)
        for _ in 0..<count { batch.append(queue.removeFirst()) }
        processing = true
        actions.append(.process(batch))
    }

    private mutating func giveUp(_ items: [PendingItem], into actions: inout [Action]) {
        guard !items.isEmpty else { return }
        let error = items[0].lastError ?? "failed"
        actions.append(.report(.gaveUp(items: items.count, error: error, deadLettered: configuration.hasDeadLetterSink)))
        if configuration.hasDeadLetterSink {
            deadLettering = true
            actions.append(.deadLetter(items))
        } else {
            itemsFailed += items.count
            acknowledge(items, status: .failed, into: &actions)
        }
    }

    private mutating func acknowledge(_ done: [PendingItem], status: AckStatus, into actions: inout [Action]) {
        guard !done.isEmpty else { return }
        // Items of a batch mostly come from one mapper: group by runs of the same source, with
        // one lookup per run rather than per item.
        var bySource: [ConnectionID: (acks: [Ack], credit: Credit)] = [:]
        var run: (source: ConnectionID, acks: [Ack], credit: Credit)?
        var dropped = 0
        func closeRun() {
            guard let finished = run else { return }
            run = nil
            if var existing = bySource.removeValue(forKey: finished.source) {
                existing.acks += finished.acks
                existing.credit.count += finished.credit.count
                existing.credit.bytes += finished.credit.bytes
                bySource[finished.source] = existing
            } else {
                bySource[finished.source] = (finished.acks, finished.credit)
            }
        }
        for pending in done {
            if run?.source != pending.source {
                closeRun()
                guard mappers[pending.source] != nil else {
                    dropped += 1
                    continue
                }
                run = (pending.source, [], Credit(count: 0, bytes: 0))
                run!.acks.reserveCapacity(done.count)
            }
            run!.acks.append(Ack(token: pending.item.token, status: status))
            run!.credit.count += 1
            run!.credit.bytes += UInt64(pending.item.encodedSize)
        }
        closeRun()
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
            if let pending = retry {
                deadline = pending.due
            } else if let oldest = queue.first, queue.count < configuration.batchSize, !draining {
                deadline = oldest.arrival + configuration.batchTimeout
            }
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
