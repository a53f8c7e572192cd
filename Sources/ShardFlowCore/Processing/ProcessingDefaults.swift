import NIOCore

/// The defaults of everything a user can tune about processing, in one place: every
/// executable's options, `shardflow run`, the systemd configuration and the docs state these
/// (a test checks that the docs agree).
public enum ProcessingDefaults {
    /// Most items per processor batch (`--batch-size`).
    public static let batchSize = 1000
    /// How long a partial batch may wait for more items (`--batch-timeout`): none. A reducer that
    /// is free processes at once what has arrived; while it is busy, items gather, so batches
    /// grow with the load (group commit) up to `batchSize`.
    public static let batchTimeout: TimeAmount = .zero
    /// Incomplete records per shard at which the worker holds back the daemon (`--max-pending`);
    /// it lets go below half of it. Enough to keep every core busy on one shard; more only
    /// holds more memory (measured: 5000 is as fast as 20000 and needs a third of the memory).
    public static let maxPending = 5_000
    /// Records a worker may hold per incomplete record it may have: records complete behind an
    /// incomplete one stay until it completes (the checkpoint cannot pass it), so a record that
    /// stays incomplete (an item failing without a retry limit) stops its shard after
    /// `heldPerPending × maxPending` records instead of letting the worker grow.
    public static let heldPerPending = 4

    /// The records a worker may hold with `maxPending` (``heldPerPending`` times as many; no
    /// more than `Int.max` for a `--max-pending` that large).
    public static func maxHeld(maxPending: Int) -> Int {
        let (product, overflow) = maxPending.multipliedReportingOverflow(by: heldPerPending)
        return overflow ? .max : product
    }
    /// Minimum time between a shard's checkpoints while records flow (`--checkpoint-interval`).
    public static let checkpointInterval: TimeAmount = .seconds(5)
    /// First delay before retrying a failed item (`--retry-delay`); doubles per attempt.
    public static let retryDelay: TimeAmount = .milliseconds(100)
    /// Longest delay between retries of a failed item (`--max-retry-delay`).
    public static let maxRetryDelay: TimeAmount = .seconds(30)
    /// How long an `exec:` processor may take over one batch (`--processor-timeout`).
    public static let processorTimeout: TimeAmount = .seconds(60)
    /// How long a stop may take before processes are killed (`--drain-timeout`).
    public static let drainTimeout: TimeAmount = .seconds(30)
    /// How long a worker handed `shutdownRequested` waits for in-flight records before it
    /// checkpoints what is complete (`--shutdown-timeout`): half the drain timeout.
    public static let shutdownTimeout: TimeAmount = .seconds(15)
    /// A record incomplete (or an item failing) this long is named in the log and the progress
    /// line (`--stuck-after`).
    public static let stuckAfter: TimeAmount = .seconds(30)
}
