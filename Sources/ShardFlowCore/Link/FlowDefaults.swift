/// The flow-control defaults of every hop, in one place: the credit windows each receiver
/// grants, the mapper's per-reducer queue limit, and the batch frame sizes senders aim for.
///
/// Memory in every process is bounded by these windows (see `docs/wire-protocol.md`, CREDIT),
/// so they trade memory for throughput: a window must hold a few batches for the pipeline to
/// stay full.
public enum FlowDefaults {
    /// Records and bytes each worker may have queued at a router.
    public static let workerWindow = Credit(count: 16384, bytes: 32 * 1024 * 1024)
    /// Records and bytes each router may have queued at a mapper.
    public static let routerWindow = Credit(count: 16384, bytes: 32 * 1024 * 1024)
    /// Items and bytes each mapper may have queued at a reducer.
    public static let mapperWindow = Credit(count: 16384, bytes: 32 * 1024 * 1024)
    /// Items and bytes a mapper keeps queued for one reducer before it stops taking records.
    public static let reducerQueueLimit = Credit(count: 16384, bytes: 32 * 1024 * 1024)
    /// Most records (or items) per RECORDS, ROUTED_RECORDS or ITEMS frame.
    public static let maximumBatchCount = 4096
    /// Bytes a batch frame aims for; one element may overshoot it.
    public static let maximumBatchBytes = 4 * 1024 * 1024
}
