#if canImport(Glibc)
import Glibc
#endif

/// Settings shared by every frame connection of a process.
public struct TransportConfiguration: Sendable, Hashable {
    /// Largest frame accepted (`--max-frame-bytes`); the default fits a 10 MiB record.
    public var maximumFrameLength: UInt32 = FrameDecoder.defaultMaximumFrameLength
    /// Users (besides this process's own) whose connections a listener accepts (`--allow-uid`).
    public var allowedUIDs: Set<UInt32> = []

    public init() {}

    /// Whether a peer running as `uid` may connect.
    func admits(uid: UInt32) -> Bool {
        uid == getuid() || allowedUIDs.contains(uid)
    }
}
