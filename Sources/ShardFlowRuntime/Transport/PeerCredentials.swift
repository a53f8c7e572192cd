/// The layout of Linux's `struct ucred` (which Glibc's Swift module does not export): what
/// `getsockopt(SO_PEERCRED)` fills in.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
