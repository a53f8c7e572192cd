/// The `reason` of a legacy `shutdown` message.
public enum ShutdownReason: Hashable, Sendable, CustomStringConvertible {
    /// KCL 1.x: the shard ended (checkpoint required).
    case terminate
    /// KCL 1.x: the lease was lost (do not checkpoint).
    case zombie
    /// KCL 2.0.x name of `terminate`.
    case shardEnd
    /// KCL 2.0.x name of `zombie`.
    case leaseLost
    /// Any other value, kept verbatim; treated like a lost lease (no checkpoint).
    case other(String)

    public init(_ text: String) {
        switch text {
        case "TERMINATE": self = .terminate
        case "ZOMBIE": self = .zombie
        case "SHARD_END": self = .shardEnd
        case "LEASE_LOST": self = .leaseLost
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .terminate: "TERMINATE"
        case .zombie: "ZOMBIE"
        case .shardEnd: "SHARD_END"
        case .leaseLost: "LEASE_LOST"
        case .other(let text): text
        }
    }

    /// Whether the shard ended, so the child must checkpoint before its status.
    public var isShardEnd: Bool {
        switch self {
        case .terminate, .shardEnd: true
        case .zombie, .leaseLost, .other: false
        }
    }
}
