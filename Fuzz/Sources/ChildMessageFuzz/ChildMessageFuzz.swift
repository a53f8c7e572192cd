import NIOCore
import ShardFlowCore

/// Child → daemon messages, read strictly as the daemon reads them, and the daemon side's
/// session that acts on them: a decoded message encodes back to itself, and no line makes the
/// session misbehave.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let message = try? MLDDecoder.decodeChildMessage(bytes) {
        var line = ByteBuffer()
        MLDEncoder.encode(message, into: &line)
        guard let again = try? MLDDecoder.decodeChildMessage(line.readableBytesView.dropLast()), again == message else {
            fatalError("\(message) does not survive encoding")
        }
    }
    var session = DaemonSessionStateMachine(shardId: "shard-0", checkpoint: nil)
    _ = session.initialize()
    for action in session.lineReceived(bytes) {
        if case .persist(let checkpoint) = action, checkpoint != .trimHorizon, case .position = checkpoint {
            fatalError("a checkpoint past anything delivered was accepted: \(checkpoint)")
        }
    }
    return 0
}
