import CoreMetrics
import NIOCore

/// A router's metrics and `status` answer, read from its state machine when asked.
final class RouterObservability: @unchecked Sendable {
    let metrics: ProcessMetrics
    private let index: UInt16
    private let forwarded: SyncedCounter
    private let fenced: SyncedCounter
    private let queued: Gauge
    private let workers: Gauge
    private let creditWait: SyncedCounter
    var wait = WaitMeter()

    init(index: UInt16) {
        self.index = index
        metrics = ProcessMetrics(process: "router-\(index)")
        let labels = [("router", String(index))]
        forwarded = metrics.counter(.routerRecordsForwarded, labels)
        fenced = metrics.counter(.routerRecordsFenced, labels)
        queued = metrics.gauge(.routerQueuedRecords, labels)
        workers = metrics.gauge(.routerWorkers, labels)
        creditWait = metrics.counter(.routerCreditWait, labels)
    }

    func exposition(_ machine: RouterStateMachine) -> String {
        forwarded.set(total: machine.recordsForwarded)
        fenced.set(total: machine.recordsFenced)
        queued.record(machine.queuedRecords)
        workers.record(machine.workerCount)
        creditWait.set(total: wait.seconds)
        return metrics.exposition()
    }

    func status(_ machine: RouterStateMachine) -> String {
        var json = JSONWriter(buffer: ByteBuffer())
        ProcessStatus.begin(&json, process: metrics.process, role: "router")
        json.key("router"); json.integer(index)
        json.key("workers"); json.integer(machine.workerCount)
        json.key("mappers"); json.integer(machine.mapperCount)
        json.key("queued"); json.integer(machine.queuedRecords)
        json.key("forwarded"); json.integer(machine.recordsForwarded)
        json.key("fenced"); json.integer(machine.recordsFenced)
        json.key("creditWaitSeconds"); json.number(text: wait.seconds.fixed(3))
        return ProcessStatus.end(&json)
    }
}
