import NIOCore

/// A decoded frame. See `docs/wire-protocol.md` for the byte layout of each.
public enum Frame: Hashable, Sendable {
    case hello(Hello)
    case records([WireRecord])
    case routedRecords(RoutedRecordBatch)
    case items([WireItem])
    case acks([Ack])
    case credit(Credit)
    case peerLost(PeerLost)
    case drain(Drain)
    case error(ErrorFrame)

    public var type: FrameType {
        switch self {
        case .hello: .hello
        case .records: .records
        case .routedRecords: .routedRecords
        case .items: .items
        case .acks: .acks
        case .credit: .credit
        case .peerLost: .peerLost
        case .drain: .drain
        case .error: .error
        }
    }

    /// Decodes the payload of a frame of `type`; the payload must be consumed exactly.
    static func decode(type: FrameType, payload: ByteBuffer) throws(WireError) -> Frame {
        var reader = PayloadReader(payload)
        switch type {
        case .hello:
            return .hello(try Hello.decode(from: &reader))
        case .records:
            let count = try reader.integer("record count", as: UInt32.self)
            let records = try decodeElements(count, minimumSize: WireRecord.overheadSize, from: &reader) {
                (reader: inout PayloadReader) throws(WireError) in try WireRecord.decode(from: &reader)
            }
            return .records(records)
        case .routedRecords:
            let router = try reader.integer("router", as: UInt16.self)
            let worker = try reader.integer("worker", as: UInt64.self)
            let shardLength = Int(try reader.integer("shardId length", as: UInt8.self))
            let shardBytes = try reader.slice("shardId", length: shardLength)
            guard let shardId = shardBytes.validatedUTF8String(at: shardBytes.readerIndex, length: shardLength)
            else { throw WireError(.invalidField(field: "shardId", reason: "not valid UTF-8")) }
            let count = try reader.integer("record count", as: UInt32.self)
            let records = try decodeElements(count, minimumSize: WireRecord.overheadSize, from: &reader) {
                (reader: inout PayloadReader) throws(WireError) in try WireRecord.decode(from: &reader)
            }
            return .routedRecords(RoutedRecordBatch(router: router, worker: worker, shardId: shardId, records: records))
        case .items:
            let count = try reader.integer("item count", as: UInt32.self)
            let items = try decodeElements(count, minimumSize: WireItem.overheadSize, from: &reader) {
                (reader: inout PayloadReader) throws(WireError) in try WireItem.decode(from: &reader)
            }
            return .items(items)
        case .acks:
            let count = try reader.integer("ack count", as: UInt32.self)
            guard Int(count) * Ack.encodedSize == reader.remaining else {
                throw WireError(
                    Int(count) * Ack.encodedSize > reader.remaining
                        ? .truncatedPayload(field: "acks", needed: Int(count) * Ack.encodedSize, available: reader.remaining)
                        : .trailingBytes(count: reader.remaining - Int(count) * Ack.encodedSize)
                )
            }
            var acks: [Ack] = []
            acks.reserveCapacity(Int(count))
            for _ in 0..<count { acks.append(try Ack.decode(from: &reader)) }
            return .acks(acks)
        case .credit:
            return .credit(try Credit.decode(from: &reader))
        case .peerLost:
            return .peerLost(try PeerLost.decode(from: &reader))
        case .drain:
            return .drain(try Drain.decode(from: &reader))
        case .error:
            return .error(try ErrorFrame.decode(from: &reader))
        }
    }

    private static func decodeElements<Element>(
        _ count: UInt32,
        minimumSize: Int,
        from reader: inout PayloadReader,
        _ decodeOne: (inout PayloadReader) throws(WireError) -> Element
    ) throws(WireError) -> [Element] {
        // A count that cannot possibly fit is rejected before anything is allocated.
        guard Int(count) <= reader.remaining / minimumSize else {
            throw WireError(.invalidField(
                field: "count",
                reason: "\(count) elements cannot fit in \(reader.remaining) bytes"
            ))
        }
        var elements: [Element] = []
        elements.reserveCapacity(Int(count))
        for _ in 0..<count { elements.append(try decodeOne(&reader)) }
        try reader.expectEnd()
        return elements
    }
}
