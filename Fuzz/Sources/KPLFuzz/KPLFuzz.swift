import NIOCore
import ShardFlowCore

/// KPL aggregates (magic, protobuf, MD5): an aggregate that decodes encodes back to one that
/// decodes to the same user records.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    guard case .aggregate(let records) = KPLAggregate.decode(bytes) else { return 0 }
    let encoded = KPLAggregate.encode(records)
    guard case .aggregate(let again) = KPLAggregate.decode(ByteBuffer(bytes: encoded)),
          again.map(\.partitionKey) == records.map(\.partitionKey), again.map(\.data) == records.map(\.data) else {
        fatalError("a decoded aggregate does not survive encoding")
    }
    return 0
}
