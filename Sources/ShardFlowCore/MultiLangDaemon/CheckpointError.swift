/// Why the daemon refused a checkpoint: the simple name of the Java exception it reports in
/// the `error` field of its reply. What each means and what the worker does is in
/// `docs/architecture.md` ("The checkpoint rule").
public enum CheckpointError: Hashable, Sendable, CustomStringConvertible {
    /// `ThrottlingException`: the lease table is throttled; retry with backoff.
    case throttling
    /// `KinesisClientLibDependencyException`: DynamoDB (or the local store) failed; retry.
    case dependency
    /// `ShutdownException`: the lease is gone; no more checkpoints.
    case shutdown
    /// `InvalidStateException`: no checkpointer for the current message (or a bad state).
    case invalidState
    /// `IllegalArgumentException`: a position outside what was delivered, or behind the last one.
    case illegalArgument
    /// Any other exception, by its name.
    case other(String)

    public init(name: String) {
        switch name {
        case "ThrottlingException": self = .throttling
        case "KinesisClientLibDependencyException": self = .dependency
        case "ShutdownException": self = .shutdown
        case "InvalidStateException": self = .invalidState
        case "IllegalArgumentException": self = .illegalArgument
        default: self = .other(name)
        }
    }

    /// The exception's simple name, as it appears on the wire.
    public var name: String {
        switch self {
        case .throttling: "ThrottlingException"
        case .dependency: "KinesisClientLibDependencyException"
        case .shutdown: "ShutdownException"
        case .invalidState: "InvalidStateException"
        case .illegalArgument: "IllegalArgumentException"
        case .other(let name): name
        }
    }

    /// Whether trying the same checkpoint again later may succeed.
    public var isRetryable: Bool {
        switch self {
        case .throttling, .dependency: true
        case .shutdown, .invalidState, .illegalArgument, .other: false
        }
    }

    public var description: String { name }
}
