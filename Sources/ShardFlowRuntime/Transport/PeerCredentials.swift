import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The layout of Linux's `struct ucred` (which Glibc's Swift module does not export): what
/// `getsockopt(SO_PEERCRED)` fills in — for an accepted connection the connecting process, for
/// a connecting one the process that listens.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0

    /// The credentials of the process at the other end of a Unix socket channel.
    static func of(_ channel: Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(ConfigurationError("no peer credentials on \(type(of: channel))"))
        }
        return provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
    }
}
