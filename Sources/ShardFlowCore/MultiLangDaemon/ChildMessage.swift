/// A message a child sends to the daemon.
public enum ChildMessage: Hashable, Sendable {
    /// "Done with the message whose action was `responseFor`."
    case status(responseFor: MLDAction)
    /// Checkpoint at this position; `sequenceNumber` nil = the largest delivered so far (at
    /// shard end: `SHARD_END`); `subSequenceNumber` nil = 0.
    case checkpoint(sequenceNumber: String?, subSequenceNumber: Int64?)
}
