import CoreMetrics
import DequeModule
import Logging
import NIOCore

/// What a worker shows about its shard: its metrics (``ProcessMetrics``), its `status` answer,
/// the end-to-end latency of items, and a log line when a record stays incomplete too long.
/// Runs on the worker's event loop; the figures the state machine counts are read when asked.
final class WorkerObservability: @unchecked Sendable {
    /// A record incomplete this long is named in the log (then every `reminder`).
    let stuckAfter: TimeAmount
    let reminder: TimeAmount = .minutes(5)
    /// One record in this many has its items' latency recorded.
    static let latencySampling: UInt64 = 8

    private(set) var metrics: ProcessMetrics?
    private var stream = ""
    private var shard = ""
    private var figures: Figures?
    /// When each `processRecords` message's records arrived: (first record index, time).
    private var received: Deque<(first: UInt64, at: NIODeadline)> = []
    private(set) var millisBehindLatest: Int64?
    private var checkpoints = 0
    private var lastCheckpoint: (position: SequencePosition?, time: Double)?
    private var stuck: (record: UInt64, reportedAt: NIODeadline)?
    /// The sampled items' latency (record received → item acknowledged), for the run's summary.
    private(set) var latencyHistogram = LatencyHistogram()

    private struct Figures {
        var received: SyncedCounter
        var recordsCompleted: SyncedCounter
        var itemsCompleted: SyncedCounter
        var incomplete: Gauge
        var oldestAge: Gauge
        var behind: Gauge
        var checkpoints: SyncedCounter
        var lastCheckpoint: Gauge
        var heldBack: Gauge
        var latency: CoreMetrics.Timer
        var checkpointErrors: [String: SyncedCounter] = [:]
    }

    init(stuckAfter: TimeAmount) {
        self.stuckAfter = stuckAfter
    }

    /// The `process` label of a worker.
    static func processName(stream: String, shard: String) -> String {
        stream.isEmpty ? "worker-\(shard)" : "worker-\(stream)-\(shard)"
    }

    // MARK: Events

    func initialized(stream: String, shard: String) {
        self.stream = stream
        self.shard = shard
        let metrics = ProcessMetrics(process: Self.processName(stream: stream, shard: shard))
        let labels = [("stream", stream), ("shard", shard)]
        figures = Figures(
            received: metrics.counter(.shardRecordsReceived, labels),
            recordsCompleted: metrics.counter(.shardRecordsCompleted, labels),
            itemsCompleted: metrics.counter(.shardItemsCompleted, labels),
            incomplete: metrics.gauge(.shardIncompleteRecords, labels),
            oldestAge: metrics.gauge(.shardOldestIncompleteAge, labels),
            behind: metrics.gauge(.shardBehindLatest, labels),
            checkpoints: metrics.counter(.shardCheckpoints, labels),
            lastCheckpoint: metrics.gauge(.shardLastCheckpoint, labels),
            heldBack: metrics.gauge(.shardHeldBack, labels),
            latency: metrics.histogram(.itemLatency, labels))
        figures!.lastCheckpoint.record(0)
        self.metrics = metrics
    }

    func recordsReceived(first: UInt64, count: Int, millisBehindLatest: Int64?, now: NIODeadline) {
        if let millisBehindLatest { self.millisBehindLatest = millisBehindLatest }
        if count > 0 { received.append((first, now)) }
    }

    /// Records the latency of the sampled items among `acks`.
    func acksReceived(_ acks: AckBatch, now: NIODeadline) {
        guard let latency = figures?.latency else { return }
        acks.forEachAck { record, _, _, status in
            guard record % Self.latencySampling == 0, status.completesItem, let at = receivedAt(record) else { return }
            latency.recordNanoseconds((now - at).nanoseconds)
            latencyHistogram.record(nanoseconds: (now - at).nanoseconds)
        }
    }

    func checkpointed(_ position: SequencePosition?) {
        checkpoints += 1
        lastCheckpoint = (position, ProcessMetrics.wallClock())
    }

    func checkpointRefused(_ error: CheckpointError) {
        guard var figures else { return }
        if figures.checkpointErrors[error.name] == nil, let metrics {
            figures.checkpointErrors[error.name] = metrics.counter(.shardCheckpointErrors, [("stream", stream), ("shard", shard), ("error", error.name)])
        }
        figures.checkpointErrors[error.name]!.increment()
        self.figures = figures
    }

    /// When record `index` arrived (nil once it is behind the kept times).
    private func receivedAt(_ index: UInt64) -> NIODeadline? {
        var low = 0
        var high = received.count - 1
        var found: NIODeadline?
        while low <= high {
            let middle = (low + high) / 2
            if received[middle].first <= index {
                found = received[middle].at
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        return found
    }

    /// Forgets arrival times of records below `index` (complete and released).
    func release(below index: UInt64) {
        while received.count > 1, received[1].first <= index { received.removeFirst() }
    }

    // MARK: Answers

    func exposition(_ machine: WorkerStateMachine, now: NIODeadline) -> String {
        guard let metrics, let figures else { return "" }
        figures.received.set(total: Int(machine.nextRecordIndex))
        figures.recordsCompleted.set(total: Int(machine.nextRecordIndex) - machine.incompleteRecordCount)
        figures.itemsCompleted.set(total: machine.itemsAcknowledged)
        figures.incomplete.record(machine.incompleteRecordCount)
        figures.oldestAge.record(oldestAge(machine, now: now) ?? 0)
        if let millisBehindLatest { figures.behind.record(Double(millisBehindLatest) / 1000) }
        figures.checkpoints.set(total: checkpoints)
        if let lastCheckpoint { figures.lastCheckpoint.record(lastCheckpoint.time) }
        figures.heldBack.record(machine.isHoldingBack ? 1 : 0)
        return metrics.exposition()
    }

    private func oldestAge(_ machine: WorkerStateMachine, now: NIODeadline) -> Double? {
        guard let oldest = machine.oldestIncomplete, let at = receivedAt(oldest.index) else { return nil }
        return Double((now - at).nanoseconds) / 1e9
    }

    func status(_ machine: WorkerStateMachine, now: NIODeadline) -> String {
        var json = JSONWriter(buffer: ByteBuffer())
        ProcessStatus.begin(&json, process: metrics?.process ?? "worker", role: "worker")
        json.key("stream"); json.string(stream)
        json.key("shard"); json.string(shard)
        json.key("received"); json.integer(machine.nextRecordIndex)
        json.key("completedRecords"); json.integer(Int(machine.nextRecordIndex) - machine.incompleteRecordCount)
        json.key("completedItems"); json.integer(machine.itemsAcknowledged)
        json.key("incomplete"); json.integer(machine.incompleteRecordCount)
        json.key("heldBack"); json.bool(machine.isHoldingBack)
        json.key("millisBehindLatest"); json.optionalInteger(millisBehindLatest)
        json.key("checkpoints"); json.integer(checkpoints)
        json.key("lastCheckpoint")
        if let lastCheckpoint {
            json.beginObject()
            json.key("sequenceNumber"); json.string(lastCheckpoint.position.map { $0.sequenceNumber.description } ?? "SHARD_END")
            json.key("time"); json.number(text: lastCheckpoint.time.fixed(3))
            json.endObject()
        } else {
            json.null()
        }
        json.key("oldestIncomplete")
        if let oldest = machine.oldestIncomplete {
            json.beginObject()
            json.key("sequenceNumber"); json.string(oldest.position.sequenceNumber.description)
            json.key("subSequenceNumber"); json.optionalInteger(oldest.position.subSequenceNumber)
            json.key("ageSeconds"); json.number(text: (oldestAge(machine, now: now) ?? 0).fixed(3))
            json.key("failedAttempts"); json.integer(machine.failedAttempts(of: oldest.index))
            json.endObject()
        } else {
            json.null()
        }
        return ProcessStatus.end(&json)
    }

    /// A log line naming the oldest incomplete record once it has waited `stuckAfter`, again
    /// every `reminder` while it stays; nil otherwise.
    func stuckMessage(_ machine: WorkerStateMachine, now: NIODeadline) -> String? {
        guard let oldest = machine.oldestIncomplete, let age = oldestAge(machine, now: now), age >= Double(stuckAfter.nanoseconds) / 1e9 else {
            stuck = nil
            return nil
        }
        if let stuck, stuck.record == oldest.index, now - stuck.reportedAt < reminder { return nil }
        stuck = (oldest.index, now)
        let attempts = machine.failedAttempts(of: oldest.index)
        let failing = attempts > 0 ? ", failed \(attempts) times (its items were acknowledged failed; it is resent)" : ""
        return "record \(oldest.position) has not completed for \(Int(age))s\(failing); the shard cannot checkpoint past it (\(machine.incompleteRecordCount) records incomplete; `shardflow status` shows what holds it)"
    }
}
