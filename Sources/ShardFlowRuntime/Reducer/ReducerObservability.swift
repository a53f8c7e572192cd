import CoreMetrics
import NIOCore

/// A reducer's metrics, `status` answer and stuck-key log lines, read from its state machine
/// when asked (on the reducer's event loop).
final class ReducerObservability: @unchecked Sendable {
    let metrics: ProcessMetrics
    private let index: UInt32
    private let processed: SyncedCounter
    private let failed: SyncedCounter
    private let retried: SyncedCounter
    private var deadLettered: [DeadLetterReason: SyncedCounter] = [:]
    private let restarts: SyncedCounter
    private let queued: Gauge
    private let heldItems: Gauge
    private let heldKeys: Gauge
    let batchDuration: CoreMetrics.Timer
    /// A key failing this long is named in the log (then every `reminder`).
    let stuckAfter: TimeAmount
    let reminder: TimeAmount = .minutes(5)
    private var reported: [String: NIODeadline] = [:]

    init(index: UInt32, stuckAfter: TimeAmount) {
        self.index = index
        self.stuckAfter = stuckAfter
        metrics = ProcessMetrics(process: "reducer-\(index)")
        let labels = [("reducer", String(index))]
        processed = metrics.counter(.reducerItemsProcessed, labels)
        failed = metrics.counter(.reducerItemsFailed, labels)
        retried = metrics.counter(.reducerItemsRetried, labels)
        for reason in DeadLetterReason.allCases {
            deadLettered[reason] = metrics.counter(.reducerItemsDeadLettered, labels + [("reason", reason.rawValue)])
        }
        restarts = metrics.counter(.processorRestarts, labels)
        queued = metrics.gauge(.reducerQueuedItems, labels)
        heldItems = metrics.gauge(.reducerHeldItems, labels)
        heldKeys = metrics.gauge(.reducerHeldKeys, labels)
        batchDuration = metrics.histogram(.reducerBatchDuration, labels)
    }

    func exposition(_ machine: ReducerStateMachine, processorRestarts: Int) -> String {
        processed.set(total: machine.itemsProcessed)
        failed.set(total: machine.itemsFailed)
        retried.set(total: machine.itemsRetried)
        for (reason, counter) in deadLettered { counter.set(total: machine.deadLetteredByReason[reason] ?? 0) }
        restarts.set(total: processorRestarts)
        queued.record(machine.queuedItems)
        heldItems.record(machine.heldItems)
        heldKeys.record(machine.heldKeys)
        return metrics.exposition()
    }

    func status(_ machine: ReducerStateMachine, processorRestarts: Int, now: NIODeadline) -> String {
        var json = JSONWriter(buffer: ByteBuffer())
        ProcessStatus.begin(&json, process: metrics.process, role: "reducer")
        json.key("reducer"); json.integer(index)
        json.key("mappers"); json.integer(machine.mapperCount)
        json.key("processed"); json.integer(machine.itemsProcessed)
        json.key("failed"); json.integer(machine.itemsFailed)
        json.key("retried"); json.integer(machine.itemsRetried)
        json.key("deadLettered"); json.integer(machine.itemsDeadLettered)
        json.key("expired"); json.integer(machine.itemsExpired)
        json.key("queued"); json.integer(machine.queuedItems)
        json.key("held"); json.integer(machine.heldItems)
        json.key("heldKeys"); json.integer(machine.heldKeys)
        json.key("processorRestarts"); json.integer(processorRestarts)
        json.key("stuck")
        json.beginArray()
        for held in machine.longestHeld(limit: 20) {
            json.beginObject()
            json.key("stream"); json.string(bytes: held.item.item.stream.readableBytesView)
            json.key("shard"); json.string(bytes: held.item.item.shardId.readableBytesView)
            json.key("sequenceNumber"); json.string(bytes: held.item.item.sequenceNumber.readableBytesView)
            json.key("subSequenceNumber"); json.optionalInteger(held.item.item.subSequenceNumber)
            json.key("key"); json.string(bytes: held.item.item.key.readableBytesView)
            json.key("attempts"); json.integer(held.item.attempts)
            json.key("lastError"); json.optionalString(held.item.lastError)
            json.key("heldSeconds"); json.number(text: (Double((now - held.since).nanoseconds) / 1e9).fixed(3))
            json.key("waiting"); json.integer(held.waiting)
            json.endObject()
        }
        json.endArray()
        return ProcessStatus.end(&json)
    }

    /// Log lines naming keys held longer than `stuckAfter`: once when a key crosses it, again
    /// every `reminder`; at most five keys per call, then how many more.
    func stuckMessages(_ machine: ReducerStateMachine, now: NIODeadline) -> [String] {
        let held = machine.longestHeld(limit: 1000).filter { now - $0.since >= stuckAfter }
        let current = Set(held.map { String(buffer: $0.item.item.key) })
        reported = reported.filter { current.contains($0.key) }
        var lines: [String] = []
        var more = 0
        for entry in held {
            let key = String(buffer: entry.item.item.key)
            if let last = reported[key], now - last < reminder { continue }
            reported[key] = now
            guard lines.count < 5 else {
                more += 1
                continue
            }
            let item = entry.item.item
            let stream = item.stream.readableBytes > 0 ? "stream \(String(buffer: item.stream)) " : ""
            let seconds = Int(Double((now - entry.since).nanoseconds) / 1e9)
            lines.append("\(stream)shard \(String(buffer: item.shardId)) record \(String(buffer: item.sequenceNumber)) (key \(key)) has been failing for \(seconds)s, attempt \(entry.item.attempts): \(entry.item.lastError ?? "failed"); \(entry.waiting) items of its key wait, other keys go on")
        }
        if more > 0 { lines.append("\(more) more keys have been failing for over \(stuckAfter.prettyDescription) (`shardflow status` lists them)") }
        return lines
    }
}
