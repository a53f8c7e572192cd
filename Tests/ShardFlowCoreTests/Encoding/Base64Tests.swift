import NIOCore
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
