// Unsafe hot path: ACKS payloads are read with raw loads after their length was checked.
import NIOCore

/// A decoded frame. See `docs/wire-protocol.md` for the byte layout of each.
public enum Frame: Hashable, Sendable {
    case hello(Hello)
    /// RECORDS: a worker's records, sent in its resend `epoch` (see ``RouterLinkStateMachine``).
    case records(epoch: UInt32, RecordBatch)
    case routedRecords(RoutedRecordBatch)
    case items([WireItem])
    case acks(AckBatch)
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
            let epoch = try reader.integer("epoch", as: UInt32.self)
            let count = try reader.integer("record count", as: UInt32.self)
            return .records(epoch: epoch, try decodeRecords(count, from: &reader))
        case .routedRecords:
            let router = try reader.integer("router", as: UInt16.self)
            let worker = try reader.integer("worker", as: UInt64.self)
            let shardLength = Int(try reader.integer("shardId length", as: UInt8.self))
            let shardBytes = try reader.slice("shardId", length: shardLength)
            guard let shardId = shardBytes.validatedUTF8String(at: shardBytes.readerIndex, length: shardLength)
            else { throw WireError(.invalidField(field: "shardId", reason: "not valid UTF-8")) }
            let stream = try reader.string16("stream")
            let count = try reader.integer("record count", as: UInt32.self)
            let records = try decodeRecords(count, from: &reader)
            return .routedRecords(RoutedRecordBatch(router: router, worker: worker, shardId: shardId, stream: stream, records: records))
        case .items:
            let count = try reader.integer("item count", as: UInt32.self)
            guard Int(count) <= reader.remaining / ItemLayout.overheadSize else {
                throw WireError(.invalidField(field: "count", reason: "\(count) elements cannot fit in \(reader.remaining) bytes"))
            }
            return .items(try WireItem.decodeBatch(try reader.slice("items", length: reader.remaining), count: Int(count)))
        case .acks:
            let count = try reader.integer("ack count", as: UInt32.self)
            guard Int(count) * Ack.encodedSize == reader.remaining else {
                throw WireError(
                    Int(count) * Ack.encodedSize > reader.remaining
                        ? .truncatedPayload(field: "acks", needed: Int(count) * Ack.encodedSize, available: reader.remaining)
                        : .trailingBytes(count: reader.remaining - Int(count) * Ack.encodedSize)
                )
            }
            let bytes = try reader.slice("acks", length: reader.remaining)
            let checked: WireError? = bytes.withUnsafeReadableBytes { raw in
                for position in 0..<Int(count) {
                    let offset = position * Ack.encodedSize
                    let token = Token.load(from: raw, at: offset)
                    guard token.isValid else {
                        return WireError(.invalidField(
                            field: "token", reason: "item \(token.item) out of range for item count \(token.itemCount)"))
                    }
                    let rawStatus = raw[offset + Token.encodedSize]
                    guard AckStatus(rawValue: rawStatus) != nil else {
                        return WireError(.invalidField(field: "ack status", reason: "unknown status \(rawStatus)"))
                    }
                }
                return nil
            }
            if let checked { throw checked }
            return .acks(AckBatch(validated: bytes))
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

    private static func decodeRecords(_ count: UInt32, from reader: inout PayloadReader) throws(WireError) -> RecordBatch {
        guard Int(count) <= reader.remaining / RecordLayout.overheadSize else {
            throw WireError(.invalidField(field: "count", reason: "\(count) elements cannot fit in \(reader.remaining) bytes"))
        }
        let bytes = try reader.slice("records", length: reader.remaining)
        return try RecordBatch(validating: bytes, count: Int(count))
    }

}
