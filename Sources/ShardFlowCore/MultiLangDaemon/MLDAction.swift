/// The `action` of a MultiLangDaemon message, and the `responseFor` of a child's status.
public enum MLDAction: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    // Daemon → child.
    case initialize
    case processRecords
    case leaseLost
    case shardEnded
    case shutdownRequested
    /// KCL 1.x and 2.0.x.
    case shutdown
    /// Both ways: a child's checkpoint request, and the daemon's reply to it.
    case checkpoint
    // Child → daemon.
    case status

    public var description: String { rawValue }
}
