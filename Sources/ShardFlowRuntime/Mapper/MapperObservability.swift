import CoreMetrics
import NIOCore

/// A mapper's metrics and `status` answer, read from its state machine when asked.
final class MapperObservability: @unchecked Sendable {
    let metrics: ProcessMetrics
    private let index: UInt32
    private let records: SyncedCounter
    private let forwarded: SyncedCounter
    private let filtered: SyncedCounter
    private let invalid: SyncedCounter
    private let corrupt: SyncedCounter
    private let resets: SyncedCounter
    private let queued: Gauge
    private let creditWait: SyncedCounter
    var wait = WaitMeter()

    init(index: UInt32) {
        self.index = index
        metrics = ProcessMetrics(process: "mapper-\(index)")
        let labels = [("mapper", String(index))]
        records = metrics.counter(.mapperRecords, labels)
        forwarded = metrics.counter(.mapperItemsForwarded, labels)
        filtered = metrics.counter(.mapperItemsFiltered, labels)
        invalid = metrics.counter(.mapperInvalidItems, labels)
        corrupt = metrics.counter(.mapperCorruptAggregates, labels)
        resets = metrics.counter(.mapperResets, labels)
        queued = metrics.gauge(.mapperQueuedItems, labels)
        creditWait = metrics.counter(.mapperCreditWait, labels)
    }

    func exposition(_ machine: MapperStateMachine) -> String {
        records.set(total: machine.recordsProcessed)
        forwarded.set(total: machine.itemsSent)
        filtered.set(total: machine.itemsFiltered)
        invalid.set(total: machine.itemsInvalid)
        corrupt.set(total: machine.corruptAggregates)
        resets.set(total: machine.resets)
        queued.record(machine.queuedItems)
        creditWait.set(total: wait.seconds)
        return metrics.exposition()
    }

    func status(_ machine: MapperStateMachine) -> String {
        var json = JSONWriter(buffer: ByteBuffer())
        ProcessStatus.begin(&json, process: metrics.process, role: "mapper")
        json.key("mapper"); json.integer(index)
        json.key("routers"); json.integer(machine.connectedRouters)
        json.key("reducers"); json.integer(machine.connectedReducers)
        json.key("records"); json.integer(machine.recordsProcessed)
        json.key("itemsForwarded"); json.integer(machine.itemsSent)
        json.key("filtered"); json.integer(machine.itemsFiltered)
        json.key("invalid"); json.integer(machine.itemsInvalid)
        json.key("queued"); json.integer(machine.queuedItems)
        json.key("creditWaitSeconds"); json.number(text: wait.seconds.fixed(3))
        return ProcessStatus.end(&json)
    }
}
