/// What happened to one item.
public enum AckStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Processed successfully.
    case ok = 0
    /// Processing failed and the item was not dead-lettered: the record stays incomplete and the
    /// worker resends it after a backoff. Its shard does not checkpoint past it.
    case failed = 1
    /// Processing failed for good and the item was written to the dead-letter sink: it counts as
    /// complete.
    case deadLettered = 2

    public var description: String {
        switch self {
        case .ok: "ok"
        case .failed: "failed"
        case .deadLettered: "dead-lettered"
        }
    }

    /// Whether the item counts towards completing its record.
    public var completesItem: Bool {
        switch self {
        case .ok, .deadLettered: true
        case .failed: false
        }
    }
}
