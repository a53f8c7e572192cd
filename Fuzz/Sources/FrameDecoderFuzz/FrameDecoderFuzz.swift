import NIOCore
import ShardFlowCore

/// The frame decoder and every payload validator: decodes frames until the input runs out or
/// a frame is malformed; each decoded frame must encode and decode again to itself (an empty
/// batch, which decodes but which no encoder writes, must encode to nothing).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    let decoder = FrameDecoder(maximumFrameLength: 1 << 20)
    while let frame = try? decoder.decode(&input) {
        var encoder = FrameEncoder()
        encoder.encode(frame)
        var again = encoder.take()
        if isEmptyBatch(frame) {
            guard again.readableBytes == 0 else { fatalError("an empty \(frame.type) batch encodes to \(again.readableBytes) bytes") }
            continue
        }
        guard let decoded = try? decoder.decode(&again), decoded == frame, again.readableBytes == 0 else {
            fatalError("a decoded \(frame.type) frame does not survive encoding: \(frame)")
        }
    }
    return 0
}

private func isEmptyBatch(_ frame: Frame) -> Bool {
    switch frame {
    case .records(_, let batch): batch.isEmpty
    case .routedRecords(let batch): batch.records.isEmpty
    case .items(let items): items.isEmpty
    case .acks(let acks): acks.isEmpty
    case .hello, .credit, .peerLost, .drain, .error: false
    }
}
