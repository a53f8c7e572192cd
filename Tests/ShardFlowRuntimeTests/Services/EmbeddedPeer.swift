import NIOCore
import NIOEmbedded
import ShardFlowTestKit

@testable import ShardFlowCore
@testable import ShardFlowRuntime

/// The far end of one of a service's connections in a test: an `EmbeddedChannel` whose inbound
/// side carries frames to the service, and whose outbound side collects what the service sent.
struct EmbeddedPeer {
    let channel: EmbeddedChannel

    init(loop: EmbeddedEventLoop) {
        channel = EmbeddedChannel(loop: loop)
    }

    /// Makes the connection active (the service sends its HELLO, if it does).
    func connect() throws {
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/tmp/embedded.sock")).wait()
    }

    /// Sends frames to the service, in one read.
    func send(_ frames: OutboundFrame...) throws {
        var encoder = FrameEncoder()
        for frame in frames { encoder.encode(frame) }
        try channel.writeInbound(encoder.take())
    }

    /// Every frame the service wrote since the last call, decoded.
    func received() throws -> [Frame] {
        var bytes = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { bytes.writeBuffer(&part) }
        return try TestFrames.decodeAll(bytes)
    }
}
