/// One metric ShardFlow exports: its Prometheus name, kind, help text and labels. The catalog
/// (``MetricDefinition/all``) is the one list: processes make their metrics from it, the scrape
/// endpoint takes help texts from it, and a test checks docs/operations.md documents each.
public struct MetricDefinition: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case counter, gauge, histogram
    }

    public var name: String
    public var kind: Kind
    public var help: String
    public var labels: [String]

    init(_ name: String, _ kind: Kind, _ labels: [String], _ help: String) {
        self.name = name
        self.kind = kind
        self.help = help
        self.labels = labels
    }

    // MARK: Shards (workers)

    static let shardLabels = ["stream", "shard"]
    public static let shardRecordsReceived = MetricDefinition(
        "shardflow_shard_records_received_total", .counter, shardLabels, "Records the daemon delivered to the shard's worker.")
    public static let shardRecordsCompleted = MetricDefinition(
        "shardflow_shard_records_completed_total", .counter, shardLabels,
        "Records whose every item was acknowledged (processed, dead-lettered or filtered out).")
    public static let shardItemsCompleted = MetricDefinition(
        "shardflow_shard_items_completed_total", .counter, shardLabels, "Item acknowledgements the shard's worker received (processed or dead-lettered).")
    public static let shardIncompleteRecords = MetricDefinition(
        "shardflow_shard_incomplete_records", .gauge, shardLabels, "Records received and not yet complete.")
    public static let shardOldestIncompleteAge = MetricDefinition(
        "shardflow_shard_oldest_incomplete_age_seconds", .gauge, shardLabels,
        "How long the oldest incomplete record has waited since the worker received it (0 when none).")
    public static let shardBehindLatest = MetricDefinition(
        "shardflow_shard_behind_latest_seconds", .gauge, shardLabels,
        "How far the shard's reader is behind the tip of the stream, as the daemon last reported (millisBehindLatest).")
    public static let shardCheckpoints = MetricDefinition(
        "shardflow_shard_checkpoints_total", .counter, shardLabels, "Checkpoints the daemon accepted.")
    public static let shardCheckpointErrors = MetricDefinition(
        "shardflow_shard_checkpoint_errors_total", .counter, shardLabels + ["error"], "Checkpoints the daemon refused, by the error it named.")
    public static let shardLastCheckpoint = MetricDefinition(
        "shardflow_shard_last_checkpoint_timestamp_seconds", .gauge, shardLabels, "When the shard last checkpointed (Unix time; 0 before its first).")
    public static let shardHeldBack = MetricDefinition(
        "shardflow_shard_held_back", .gauge, shardLabels,
        "1 while the worker holds the daemon back: --max-pending records are incomplete, or \(ProcessingDefaults.heldPerPending) times as many are held behind an incomplete one.")
    public static let itemLatency = MetricDefinition(
        "shardflow_item_latency_seconds", .histogram, shardLabels,
        "From the worker receiving a record to it receiving an item's acknowledgement (sampled: the items of one record in 8).")

    // MARK: Routers

    public static let routerRecordsForwarded = MetricDefinition(
        "shardflow_router_records_forwarded_total", .counter, ["router"], "Records the router handed to mappers.")
    public static let routerRecordsFenced = MetricDefinition(
        "shardflow_router_records_fenced_total", .counter, ["router"],
        "Records dropped on arrival because their worker was resending after a lost mapper.")
    public static let routerQueuedRecords = MetricDefinition(
        "shardflow_router_queued_records", .gauge, ["router"], "Records queued at the router for mappers.")
    public static let routerWorkers = MetricDefinition(
        "shardflow_router_workers", .gauge, ["router"], "Workers connected to the router.")
    public static let routerCreditWait = MetricDefinition(
        "shardflow_router_credit_wait_seconds_total", .counter, ["router"], "Time the router held records that no mapper credit let out.")

    // MARK: Mappers

    public static let mapperRecords = MetricDefinition(
        "shardflow_mapper_records_total", .counter, ["mapper"], "Records the mapper turned into items.")
    public static let mapperItemsForwarded = MetricDefinition(
        "shardflow_mapper_items_forwarded_total", .counter, ["mapper"], "Items the mapper sent to reducers.")
    public static let mapperItemsFiltered = MetricDefinition(
        "shardflow_mapper_items_filtered_total", .counter, ["mapper"], "Items no --filter pattern matched: completed without processing.")
    public static let mapperInvalidItems = MetricDefinition(
        "shardflow_mapper_invalid_items_total", .counter, ["mapper"],
        "Items the mapper could not prepare (a key it could not read), sent to the error policy.")
    public static let mapperCorruptAggregates = MetricDefinition(
        "shardflow_mapper_corrupt_aggregates_total", .counter, ["mapper"], "Records that looked like KPL aggregates but were not valid (delivered whole).")
    public static let mapperResets = MetricDefinition(
        "shardflow_mapper_resets_total", .counter, ["mapper"], "Times the mapper dropped what it held after losing a reducer.")
    public static let mapperQueuedItems = MetricDefinition(
        "shardflow_mapper_queued_items", .gauge, ["mapper"], "Items queued at the mapper for reducers.")
    public static let mapperCreditWait = MetricDefinition(
        "shardflow_mapper_credit_wait_seconds_total", .counter, ["mapper"], "Time the mapper held items or records that reducer credit did not let out.")

    // MARK: Reducers

    public static let reducerItemsProcessed = MetricDefinition(
        "shardflow_reducer_items_processed_total", .counter, ["reducer"], "Items the processor processed successfully.")
    public static let reducerItemsFailed = MetricDefinition(
        "shardflow_reducer_items_failed_total", .counter, ["reducer"],
        "Items that failed for good without a dead-letter sink, acknowledged failed (their workers resend them).")
    public static let reducerItemsRetried = MetricDefinition(
        "shardflow_reducer_items_retried_total", .counter, ["reducer"], "Failed processing attempts that are retried.")
    public static let reducerItemsDeadLettered = MetricDefinition(
        "shardflow_reducer_items_dead_lettered_total", .counter, ["reducer", "reason"], "Items written to the dead-letter sink, by reason.")
    public static let reducerBatchDuration = MetricDefinition(
        "shardflow_reducer_batch_duration_seconds", .histogram, ["reducer"], "Time the processor took over one batch.")
    public static let reducerQueuedItems = MetricDefinition(
        "shardflow_reducer_queued_items", .gauge, ["reducer"], "Items waiting at the reducer (queued, or held behind a failure of their key).")
    public static let reducerHeldItems = MetricDefinition(
        "shardflow_reducer_held_items", .gauge, ["reducer"], "Items held back behind a failure of their key.")
    public static let reducerHeldKeys = MetricDefinition(
        "shardflow_reducer_held_keys", .gauge, ["reducer"], "Keys held back behind a failure.")
    public static let processorRestarts = MetricDefinition(
        "shardflow_processor_restarts_total", .counter, ["reducer"], "Times an exec: processor child was killed or died and was started again.")

    // MARK: Processes

    public static let processUp = MetricDefinition(
        "shardflow_process_up", .gauge, ["process"], "1 when the process answered this scrape, 0 when its control socket is there but it did not.")
    public static let processRestarts = MetricDefinition(
        "shardflow_process_restarts_total", .counter, ["process"], "Times the process was seen starting again after it first started.")
    public static let processCPU = MetricDefinition(
        "shardflow_process_cpu_seconds_total", .counter, ["process"], "CPU time (user and system) the process used.")
    public static let processResident = MetricDefinition(
        "shardflow_process_resident_memory_bytes", .gauge, ["process"], "Resident memory of the process.")
    public static let processProportional = MetricDefinition(
        "shardflow_process_proportional_memory_bytes", .gauge, ["process"],
        "Proportional set size of the process (shared pages divided among the processes sharing them).")
    public static let processStartTime = MetricDefinition(
        "shardflow_process_start_time_seconds", .gauge, ["process"], "When the process started (Unix time).")

    /// Every metric, in the order the documentation lists them.
    public static let all: [MetricDefinition] = [
        shardRecordsReceived, shardRecordsCompleted, shardItemsCompleted, shardIncompleteRecords, shardOldestIncompleteAge,
        shardBehindLatest, shardCheckpoints, shardCheckpointErrors, shardLastCheckpoint, shardHeldBack, itemLatency,
        routerRecordsForwarded, routerRecordsFenced, routerQueuedRecords, routerWorkers, routerCreditWait,
        mapperRecords, mapperItemsForwarded, mapperItemsFiltered, mapperInvalidItems, mapperCorruptAggregates, mapperResets,
        mapperQueuedItems, mapperCreditWait,
        reducerItemsProcessed, reducerItemsFailed, reducerItemsRetried, reducerItemsDeadLettered, reducerBatchDuration,
        reducerQueuedItems, reducerHeldItems, reducerHeldKeys, processorRestarts,
        processUp, processRestarts, processCPU, processResident, processProportional, processStartTime,
    ]

    /// Help texts by name, for the scrape endpoint.
    public static let helpByName: [String: String] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0.help) })
}
