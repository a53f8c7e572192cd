import NIOCore
import ShardFlowCore

/// Daemon → child messages as values: what decodes must encode back to a line that decodes to
/// the same message.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let message = try? MLDDecoder.decodeDaemonMessage(bytes) else { return 0 }
    var line = ByteBuffer()
    MLDEncoder.encode(message, into: &line)
    guard line.readableBytes > 0, let again = try? MLDDecoder.decodeDaemonMessage(line.readableBytesView.dropLast()), again == message else {
        fatalError("\(message) does not survive encoding")
    }
    return 0
}
