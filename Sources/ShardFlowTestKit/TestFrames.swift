import NIOCore
import ShardFlowCore

/// Builders for frames, records, items and acks in tests, so each test states only what it is
/// about.
public enum TestFrames {
    public static func hello(
        _ role: PeerRole, _ index: UInt32 = 0, name: String? = nil, stream: String = "", instance: UInt64 = 7,
        version: UInt16 = Hello.currentVersion
    ) -> Hello {
        Hello(version: version, role: role, index: index, instance: instance, name: name ?? "\(role)-\(index)", stream: stream)
    }

    /// A record numbered `index`, with sequence number `"\(index)"` unless given.
    public static func record(
        _ index: UInt64, key: String? = nil, data: String? = nil, sequenceNumber: String? = nil,
        subSequenceNumber: UInt64? = 0, arrivalTimestamp: Int64? = nil
    ) -> WireRecord {
        WireRecord(
            index: index, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
            sequenceNumber: ByteBuffer(string: sequenceNumber ?? "\(index + 1000)"),
            partitionKey: ByteBuffer(string: key ?? "k\(index)"), data: ByteBuffer(string: data ?? "d\(index)"))
    }

    /// Records `indices`, keys `k<i>` and data `d<i>` unless `key` names one key for all.
    public static func records(_ indices: ClosedRange<UInt64>, key: String? = nil) -> RecordBatch {
        RecordBatch(indices.map { record($0, key: key) })
    }

    public static func token(router: UInt16 = 0, worker: UInt64 = 1, record: UInt64, item: UInt32 = 0, itemCount: UInt32 = 1) -> Token {
        Token(router: router, worker: worker, record: record, item: item, itemCount: itemCount)
    }

    /// An item of record `record` keyed `key`.
    public static func item(
        record: UInt64, item: UInt32 = 0, itemCount: UInt32 = 1, router: UInt16 = 0, worker: UInt64 = 1,
        key: String = "k", data: String = "x", shardId: String = "shard-0", error: String? = nil,
        arrivalTimestamp: Int64? = nil
    ) -> WireItem {
        WireItem(
            token: token(router: router, worker: worker, record: record, item: item, itemCount: itemCount),
            subSequenceNumber: 0, arrivalTimestamp: arrivalTimestamp, shardId: ByteBuffer(string: shardId),
            sequenceNumber: ByteBuffer(string: "\(record + 1000)"), partitionKey: ByteBuffer(string: key),
            key: ByteBuffer(string: key), error: error, data: ByteBuffer(string: data))
    }

    /// Items back to back, as an ITEMS frame's payload.
    public static func itemBytes(_ items: [WireItem]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for item in items { buffer.writeImmutableBuffer(item.encoded) }
        return buffer
    }

    public static func ack(
        _ record: UInt64, item: UInt32 = 0, itemCount: UInt32 = 1, router: UInt16 = 0, worker: UInt64 = 1, _ status: AckStatus = .ok
    ) -> Ack {
        Ack(token: token(router: router, worker: worker, record: record, item: item, itemCount: itemCount), status: status)
    }

    /// The bytes `frame` encodes to.
    public static func bytes(_ frame: OutboundFrame) -> ByteBuffer {
        var encoder = FrameEncoder()
        encoder.encode(frame)
        return encoder.take()
    }

    /// Decodes every frame in `bytes` (which must hold whole frames only).
    public static func decodeAll(_ bytes: ByteBuffer) throws -> [Frame] {
        var buffer = bytes
        var frames: [Frame] = []
        while let frame = try FrameDecoder().decode(&buffer) { frames.append(frame) }
        precondition(buffer.readableBytes == 0, "\(buffer.readableBytes) bytes of a partial frame left")
        return frames
    }
}
