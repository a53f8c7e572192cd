/// A message the daemon sends to a child (the worker).
public enum DaemonMessage: Hashable, Sendable {
    /// The lease's shard and its stored checkpoint (digits, or a sentinel such as `TRIM_HORIZON`).
    case initialize(shardId: String, sequenceNumber: String?, subSequenceNumber: Int64?)
    case processRecords(records: [MLDRecord], millisBehindLatest: Int64?)
    /// The daemon's reply to a child's checkpoint request, echoing the requested position;
    /// `error` names the Java exception, nil on success.
    case checkpoint(sequenceNumber: String?, subSequenceNumber: Int64?, error: CheckpointError?)
    /// KCL 2.1+: another worker took the lease; do not checkpoint.
    case leaseLost
    /// KCL 2.1+: the shard was closed by a reshard and fully read; checkpoint (null) before
    /// the status or the child shards never start.
    case shardEnded
    /// The daemon is shutting down gracefully: last chance to checkpoint.
    case shutdownRequested
    /// KCL 1.x and 2.0.x: `TERMINATE`/`SHARD_END` = shard ended, `ZOMBIE`/`LEASE_LOST` = lease lost.
    case shutdown(reason: ShutdownReason)

    /// The `action` value, which is also what the child's status must name in `responseFor`.
    public var action: MLDAction {
        switch self {
        case .initialize: .initialize
        case .processRecords: .processRecords
        case .checkpoint: .checkpoint
        case .leaseLost: .leaseLost
        case .shardEnded: .shardEnded
        case .shutdownRequested: .shutdownRequested
        case .shutdown: .shutdown
        }
    }
}
