/// The role a process plays in the group, as announced in its handshake.
public enum PeerRole: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case worker = 1
    case router = 2
    case mapper = 3
    case reducer = 4

    public var description: String {
        switch self {
        case .worker: "worker"
        case .router: "router"
        case .mapper: "mapper"
        case .reducer: "reducer"
        }
    }
}
