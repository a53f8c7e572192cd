import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Base64")
struct Base64Tests {
    // RFC 4648 §10 test vectors.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 vectors encode and decode")
    func vectors() throws {
        for (plain, encoded) in Self.vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(try Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
        }
    }

    @Test("random bytes round trip", arguments: [0, 1, 2, 3, 57, 1000, 4099])
    func roundTrip(count: Int) throws {
        var rng = SeededGenerator(seed: UInt64(count))
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
        #expect(try Base64.decode(Array(Base64.encode(bytes).utf8)) == bytes)
    }

    @Test("every length decodes exactly, writing nothing past the decoded bytes")
    func everyLength() throws {
        var rng = SeededGenerator(seed: 7)
        for count in 0...64 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = Array(Base64.encode(bytes).utf8)
            var output = [UInt8](repeating: 0xA5, count: Base64.maximumDecodedCount(text.count) + 16)
            let written = try text.withUnsafeBytes { raw in
                try output.withUnsafeMutableBytes { out in try Base64.decode(raw, to: out.baseAddress!) }
            }
            #expect(written == count)
            #expect(Array(output[..<count]) == bytes)
            #expect(output[count...].allSatisfy { $0 == 0xA5 }, "bytes written past the end for length \(count)")
        }
    }

    @Test("a bad character is caught at every position, with its offset")
    func badCharacterEverywhere() {
        let text = Array(Base64.encode(Array(0..<60 as Range<UInt8>)).utf8)  // 80 characters, no padding
        for position in text.indices {
            // "=" in the last place is valid padding; anywhere else it is a bad character.
            for bad in [UInt8(ascii: "!"), UInt8(ascii: "="), 0x80, 0xFF] where !(bad == UInt8(ascii: "=") && position == text.count - 1) {
                var corrupted = text
                corrupted[position] = bad
                #expect(throws: Base64.DecodingError.self) { try Base64.decode(corrupted) }
                do {
                    _ = try Base64.decode(corrupted)
                } catch {
                    #expect(error.offset == position)
                }
            }
        }
    }

    @Test("invalid input names the character and offset")
    func invalid() {
        #expect(throws: Base64.DecodingError(message: "invalid base64 character '!'", offset: 4)) {
            try Base64.decode(Array("Zm9v!g==".utf8))
        }
        #expect(throws: Base64.DecodingError(message: "base64 length 3 is not a multiple of 4", offset: 3)) {
            try Base64.decode(Array("Zm9".utf8))
        }
        #expect(throws: Base64.DecodingError(message: "invalid base64 character '='", offset: 1)) {
            try Base64.decode(Array("Z===".utf8))
        }
        #expect(throws: Base64.DecodingError(message: "invalid base64 character byte 0xa", offset: 2)) {
            try Base64.decode(Array("Zm\nv".utf8))
        }
    }

    @Test("a failed decode leaves the buffer as it was")
    func failedDecodeLeavesBuffer() {
        var buffer = ByteBuffer(string: "keep")
        let text = Array("Zm9vYmFy####".utf8)
        text.withUnsafeBytes { raw in
            #expect(throws: Base64.DecodingError.self) { try Base64.decode(raw, into: &buffer) }
        }
        #expect(String(buffer: buffer) == "keep")
    }
}

/// The vector kernels (AVX2, where the processor has them) against a plain reference: texts
/// long enough to go through them, every byte value, every position of a bad character.
extension Base64Tests {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Base64 the slow, obvious way.
    static func reference(_ bytes: [UInt8]) -> [UInt8] {
        var text: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let word = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * $1.offset) }
            for position in 0..<4 {
                text.append(position <= chunk.count ? alphabet[Int(word >> (18 - 6 * position) & 0x3F)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return text
    }

    @Test("long texts through the vector kernels match the reference, every length up to 800 bytes")
    func vectorKernelsMatchReference() throws {
        var rng = SeededGenerator(seed: 11)
        for count in 0...800 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let expected = Self.reference(bytes)
            #expect(Array(Base64.encode(bytes).utf8) == expected, "encoding \(count) bytes")
            var output = [UInt8](repeating: 0xA5, count: Base64.maximumDecodedCount(expected.count) + 16)
            let written = try expected.withUnsafeBytes { raw in
                try output.withUnsafeMutableBytes { out in try Base64.decode(raw, to: out.baseAddress!) }
            }
            #expect(written == count && Array(output[..<count]) == bytes, "decoding \(expected.count) characters")
            #expect(output[count...].allSatisfy { $0 == 0xA5 }, "bytes written past the end for length \(count)")
        }
    }

    @Test("every byte value at every position of a long text: the alphabet decodes, anything else is named at its offset")
    func everyByteEverywhere() throws {
        let text = Self.reference(Array(0..<120 as Range<UInt8>))  // 160 characters, no padding
        for position in stride(from: 0, to: text.count, by: 7) {
            for value in 0...255 {
                var changed = text
                changed[position] = UInt8(value)
                if Self.alphabet.contains(UInt8(value)) {
                    let decoded = try Base64.decode(changed)
                    #expect(Self.reference(decoded) == changed, "byte \(value) at \(position)")
                } else {
                    do {
                        _ = try Base64.decode(changed)
                        Issue.record("byte \(value) at \(position) decoded")
                    } catch {
                        #expect(error.offset == position, "byte \(value) at \(position)")
                    }
                }
            }
        }
    }
}
