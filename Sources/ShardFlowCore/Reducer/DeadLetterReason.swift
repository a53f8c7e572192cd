/// Why an item went to the dead-letter sink (the `reason` field of a dead letter).
public enum DeadLetterReason: String, Hashable, Sendable, CaseIterable {
    /// The processor failed it on every attempt (`--retries`).
    case failed
    /// The mapper could not prepare it (for example its `json:` key is missing), so the
    /// processor never ran on it.
    case invalid
    /// Its record was older than `--max-record-age` when its turn came.
    case expired
}
