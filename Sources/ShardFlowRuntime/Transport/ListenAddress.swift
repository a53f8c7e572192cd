/// Where a listener gets its socket: a path it binds itself, or a descriptor passed by socket
/// activation.
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    case path(String)
    case descriptor(CInt, name: String)

    public var description: String {
        switch self {
        case .path(let path): path
        case .descriptor(let descriptor, let name): "socket-activated fd \(descriptor) (\(name))"
        }
    }
}
