import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Settings shared by every frame connection of a process.
public struct TransportConfiguration: Sendable, Hashable {
    /// Largest frame accepted (`--max-frame-bytes`); the default fits a 10 MiB record.
    public var maximumFrameLength: UInt32 = FrameDecoder.defaultMaximumFrameLength
    /// Users (besides this process's own) whose connections are accepted (`--allow-uid`).
    public var allowedUIDs: Set<UInt32> = []
    /// Most connections a listener keeps open at once; more are refused with an ERROR.
    public var maximumConnections = 1024
    /// How long a peer may take to send its HELLO before the connection is closed.
    public var handshakeTimeout: TimeAmount = .seconds(10)

    public init() {}

    /// How much a frame connection reads at once: 1 KiB to 64 KiB, adapting to what arrives.
    /// Frames are handed on as slices of the read, so a read buffer lives as long as any frame
    /// in it is queued; with reads of up to 1 MiB, a router kept about 4 MiB more heap for good
    /// after a 2-second stall, with 64 KiB about 1 MiB.
    static var readAllocator: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: 64 * 1024)
    }

    /// Whether a listener accepts a peer running as `uid`: this process's own user, or one
    /// allowed with `--allow-uid`.
    func admitsPeer(uid: UInt32) -> Bool {
        uid == getuid() || allowedUIDs.contains(uid)
    }

    /// Whether a connecting process trusts a listener running as `uid`: its own user, root, or
    /// one allowed with `--allow-uid`.
    func trustsListener(uid: UInt32) -> Bool {
        uid == getuid() || uid == 0 || allowedUIDs.contains(uid)
    }
}

import NIOCore
