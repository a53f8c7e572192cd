import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Frame decoder")
struct FrameDecoderTests {
    /// All golden frames back to back.
    static var stream: [UInt8] {
        FrameGoldenTests.cases.flatMap { [UInt8](hex: $0.hex) }
    }

    static func decodeAll(_ buffer: inout ByteBuffer, decoder: FrameDecoder = FrameDecoder()) throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try decoder.decode(&buffer) { frames.append(frame) }
        return frames
    }

    @Test("every split point of a multi-frame buffer yields the same frames")
    func everySplitPoint() throws {
        let bytes = Self.stream
        let expected = FrameGoldenTests.cases.map(\.frame)
        for split in 0...bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<split])
            var frames = try Self.decodeAll(&buffer)
            buffer.discardReadBytes()
            buffer.writeBytes(bytes[split...])
            frames += try Self.decodeAll(&buffer)
            #expect(frames == expected, "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("one byte at a time yields the same frames")
    func oneByteAtATime() throws {
        var buffer = ByteBuffer()
        var frames: [Frame] = []
        for byte in Self.stream {
            buffer.writeInteger(byte)
            frames += try Self.decodeAll(&buffer)
        }
        #expect(frames == FrameGoldenTests.cases.map(\.frame))
    }

    @Test("an oversize length is rejected as soon as the length field is read")
    func oversizeRejectedEarly() {
        var buffer = ByteBuffer(hex: "00 10 00 01")  // 1 MiB + 1, nothing else has arrived
        let decoder = FrameDecoder(maximumFrameLength: 1024 * 1024)
        #expect(throws: WireError(.oversizeFrame(length: 1024 * 1024 + 1, maximum: 1024 * 1024), snippet: "00 10 00 01")) {
            try decoder.decode(&buffer)
        }
    }

    @Test("the largest length is compared without overflow")
    func maximumLength() {
        var buffer = ByteBuffer(hex: "ff ff ff ff 02")
        #expect(throws: WireError.self) { try FrameDecoder().decode(&buffer) }
        do {
            _ = try FrameDecoder().decode(&buffer)
        } catch {
            #expect(error.kind == .oversizeFrame(length: UInt32.max, maximum: FrameDecoder.defaultMaximumFrameLength))
        }
    }

    @Test("the default maximum fits a 10 MiB record")
    func defaultFitsTenMiB() throws {
        var encoder = FrameEncoder()
        encoder.beginRecords()
        let data = [UInt8](repeating: 0x5A, count: 10 * 1024 * 1024)
        encoder.appendRecord(
            index: 0, subSequenceNumber: 0, arrivalTimestamp: 0,
            sequenceNumber: Array(repeating: UInt8(ascii: "9"), count: 56),
            partitionKey: Array(repeating: UInt8(ascii: "k"), count: 256), data: data
        )
        encoder.endBatch()
        var buffer = encoder.take()
        guard case .records(_, let records) = try FrameDecoder().decode(&buffer) else {
            Issue.record("not a records frame")
            return
        }
        #expect(Array(records).first?.data.readableBytes == data.count)
    }

    @Test("a zero length is an empty-frame error")
    func emptyFrame() {
        var buffer = ByteBuffer(hex: "00 00 00 00 01")
        #expect(throws: WireError(.emptyFrame, snippet: "00 00 00 00 01")) { try FrameDecoder().decode(&buffer) }
    }

    @Test("an unknown type names the type and the bytes")
    func unknownType() {
        var buffer = ByteBuffer(hex: "00 00 00 02 7f 00")
        do {
            _ = try FrameDecoder().decode(&buffer)
            Issue.record("decoded an unknown frame type")
        } catch {
            #expect(error.kind == .unknownFrameType(0x7F))
            #expect(error.snippet == "00 00 00 02 7f 00")
            #expect(error.description.contains("0x7f"))
        }
    }

    struct Malformed: Sendable, CustomStringConvertible {
        var name: String
        var hex: String
        var type: FrameType
        var kind: WireError.Kind
        var description: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(
            name: "truncated CREDIT",
            hex: "00 00 00 05 06 00 00 00 64",
            type: .credit, kind: .truncatedPayload(field: "bytes", needed: 8, available: 0)
        ),
        Malformed(
            name: "CREDIT with trailing bytes",
            hex: "00 00 00 0e 06 00 00 00 64 00 00 00 00 00 01 00 00 ff",
            type: .credit, kind: .trailingBytes(count: 1)
        ),
        Malformed(
            name: "HELLO with a bad magic",
            hex: "00 00 00 17 01 48 54 54 50 00 01 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
            type: .hello, kind: .badHandshake("magic 0x48545450 is not \"SFLW\" (0x53464c57)")
        ),
        Malformed(
            name: "HELLO with an unknown role",
            hex: "00 00 00 17 01 53 46 4c 57 00 01 09 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
            type: .hello, kind: .badHandshake("unknown role 9")
        ),
        Malformed(
            name: "HELLO whose name is not UTF-8",
            hex: "00 00 00 19 01 53 46 4c 57 00 01 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 c3 28",
            type: .hello, kind: .badHandshake("name is not valid UTF-8")
        ),
        Malformed(
            name: "HELLO cut inside the instance",
            hex: "00 00 00 0f 01 53 46 4c 57 00 01 01 00 00 00 00 00 00 00",
            type: .hello, kind: .truncatedPayload(field: "instance", needed: 8, available: 2)
        ),
        Malformed(
            name: "RECORDS whose count cannot fit",
            hex: "00 00 00 09 02 00 00 00 00 00 00 00 05",
            type: .records, kind: .invalidField(field: "count", reason: "5 elements cannot fit in 0 bytes")
        ),
        Malformed(
            name: "RECORDS with unknown flag bits",
            hex: """
                00 00 00 2a 02 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
                01 31 00 00 00 00 00 00
                """,
            type: .records, kind: .invalidField(field: "record flags", reason: "unknown bits 0x80")
        ),
        Malformed(
            name: "RECORDS whose data length runs past the frame",
            hex: """
                00 00 00 2a 02 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
                01 31 00 00 00 00 00 09
                """,
            type: .records, kind: .truncatedPayload(field: "data", needed: 9, available: 0)
        ),
        Malformed(
            name: "ACKS with an unknown status",
            hex: "00 00 00 20 05 00 00 00 01 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 07",
            type: .acks, kind: .invalidField(field: "ack status", reason: "unknown status 7")
        ),
        Malformed(
            name: "ACKS whose item is beyond its count",
            hex: "00 00 00 20 05 00 00 00 01 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 02 00 00 00 02 00",
            type: .acks, kind: .invalidField(field: "token", reason: "item 2 out of range for item count 2")
        ),
        Malformed(
            name: "ACKS with a missing entry",
            hex: "00 00 00 05 05 00 00 00 01",
            type: .acks, kind: .truncatedPayload(field: "acks", needed: 27, available: 0)
        ),
        Malformed(
            name: "PEER_LOST with an unknown role",
            hex: "00 00 00 08 07 0a 00 00 00 03 00 00",
            type: .peerLost, kind: .invalidField(field: "role", reason: "unknown role 10")
        ),
        Malformed(
            name: "DRAIN whose reason is longer than the frame",
            hex: "00 00 00 04 08 00 05 41",
            type: .drain, kind: .truncatedPayload(field: "reason", needed: 5, available: 1)
        ),
    ]

    @Test("malformed payloads throw typed errors naming the frame type and bytes", arguments: malformed)
    func malformedPayload(_ bad: Malformed) {
        var buffer = ByteBuffer(hex: bad.hex)
        do {
            let frame = try FrameDecoder().decode(&buffer)
            Issue.record("decoded \(String(describing: frame))")
        } catch {
            #expect(error.kind == bad.kind)
            #expect(error.frameType == bad.type)
            #expect(error.snippet.hasPrefix(ByteBuffer(hex: bad.hex).hexString.prefix(20)))
            #expect(error.description.contains(bad.type.description))
            #expect(buffer.readerIndex == 0, "a failed frame is not consumed")
        }
    }

    @Test("frames after a good frame are unaffected by the decoder's earlier short reads")
    func interleavedShortReads() throws {
        var encoder = FrameEncoder()
        encoder.credit(Credit(count: 1, bytes: 2))
        encoder.drain(Drain(reason: "x"))
        var all = encoder.take()
        var partial = all.readSlice(length: 20)!
        #expect(try FrameDecoder().decode(&partial) == .credit(Credit(count: 1, bytes: 2)))
        #expect(try FrameDecoder().decode(&partial) == nil)
        partial.writeBuffer(&all)
        #expect(try FrameDecoder().decode(&partial) == .drain(Drain(reason: "x")))
    }
}
