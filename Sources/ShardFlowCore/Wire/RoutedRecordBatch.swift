/// A batch of records from one worker, stamped by the router with the token prefix
/// (router index, worker id) and the worker's shard id and stream.
public struct RoutedRecordBatch: Hashable, Sendable {
    public var router: UInt16
    public var worker: UInt64
    public var shardId: String
    /// The worker's stream (empty when it named none).
    public var stream: String
    public var records: RecordBatch

    public init(router: UInt16, worker: UInt64, shardId: String, stream: String = "", records: RecordBatch) {
        self.router = router
        self.worker = worker
        self.shardId = shardId
        self.stream = stream
        self.records = records
    }
}
