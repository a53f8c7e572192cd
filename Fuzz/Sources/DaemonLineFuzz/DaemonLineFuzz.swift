import NIOCore
import ShardFlowCore

/// The worker's reading of a daemon line (its JSON, record fast path and base64): records it
/// accepts, kept as the worker keeps them, must form a valid RECORDS batch, one per position.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    guard case .processRecords(let records, _)? = try? DaemonLine.parse(line, firstIndex: 7) else { return 0 }
    var store = RecordStore()
    store.append(records)
    for i in 0..<records.count where store.position(of: UInt64(i)) != records.position(i) {
        fatalError("record \(i)'s position differs once stored")
    }
    var encoder = FrameEncoder()
    if let run = store.run(from: 0, limit: records.count, include: { _, _ in true }) {
        guard run.count == records.count else { fatalError("one message's records split into runs") }
        encoder.encode(OutboundFrame.records(epoch: 0, run))
    }
    var frame = encoder.take()
    guard records.count == 0 || frame.readableBytes > 0 else { fatalError("records vanished") }
    if records.count > 0 {
        guard case .records(_, let batch)? = try? FrameDecoder(maximumFrameLength: UInt32.max).decode(&frame), batch.count == records.count else {
            fatalError("accepted records do not form a valid RECORDS frame")
        }
        for (offset, record) in batch.enumerated() where record.index != 7 + UInt64(offset) {
            fatalError("record \(offset) has index \(record.index)")
        }
    }
    return 0
}
