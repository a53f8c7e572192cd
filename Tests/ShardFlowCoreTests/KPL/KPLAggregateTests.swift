import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("KPL aggregates and MD5")
struct KPLAggregateTests {
    /// The reference's worked example: ("pk1","data1"), ("pk2","data2"), no explicit hash keys.
    static let example = """
        f3 89 9a c2
        0a 03 70 6b 31 0a 03 70 6b 32
        1a 09 08 00 1a 05 64 61 74 61 31
        1a 09 08 01 1a 05 64 61 74 61 32
        a2 59 c2 6a ac d6 ff fc 8c 07 4e f9 71 9d 3c 1e
        """
    /// erlmld's vector with an explicit-hash-key table (protobuf; digest from the reference).
    static let ehkProtobuf = """
        0a 03 70 6b 31 0a 03 70 6b 32 12 04 65 68 6b 31 12 04 65 68 6b 32
        1a 0b 08 00 10 00 1a 05 64 61 74 61 31 1a 0b 08 01 10 01 1a 05 64 61 74 61 32
        """
    static let ehkDigest = "f4 29 5d 9b ad be 3a 1e f0 df d8 08 1a cd 56 04"

    static func b(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test("MD5 matches the RFC 1321 test suite, fed whole and in pieces")
    func md5() {
        let vectors = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (text, hex) in vectors {
            #expect(MD5.digest(Array(text.utf8)) == [UInt8](hex: hex))
            let bytes = Array(text.utf8)
            for split in stride(from: 0, through: bytes.count, by: 7) {
                var md5 = MD5()
                md5.update(bytes[..<split])
                md5.update(bytes[split...])
                #expect(md5.finalize() == [UInt8](hex: hex), "split \(split) of \(text)")
            }
        }
    }

    @Test("the reference example decodes into its two user records")
    func decodesExample() {
        let data = ByteBuffer(hex: Self.example)
        #expect(data.readableBytes == 52)
        #expect(Base64.encode(data.readableBytesView) == "84mawgoDcGsxCgNwazIaCQgAGgVkYXRhMRoJCAEaBWRhdGEyolnCaqzW//yMB075cZ08Hg==")
        #expect(KPLAggregate.decode(data) == .aggregate([
            .init(partitionKey: Self.b("pk1"), data: Self.b("data1")),
            .init(partitionKey: Self.b("pk2"), data: Self.b("data2")),
        ]))
    }

    @Test("the encoder reproduces the reference bytes")
    func encodesExample() {
        let encoded = KPLAggregate.encode([
            .init(partitionKey: Self.b("pk1"), data: Self.b("data1")),
            .init(partitionKey: Self.b("pk2"), data: Self.b("data2")),
        ])
        #expect(encoded == [UInt8](hex: Self.example))
    }

    @Test("erlmld's explicit-hash-key vector: digest, decode and re-encode")
    func explicitHashKeys() {
        let protobuf = [UInt8](hex: Self.ehkProtobuf)
        #expect(MD5.digest(protobuf) == [UInt8](hex: Self.ehkDigest))
        let aggregate = KPLAggregate.magic + protobuf + [UInt8](hex: Self.ehkDigest)
        let expected: [KPLAggregate.UserRecord] = [
            .init(partitionKey: Self.b("pk1"), explicitHashKey: Self.b("ehk1"), data: Self.b("data1")),
            .init(partitionKey: Self.b("pk2"), explicitHashKey: Self.b("ehk2"), data: Self.b("data2")),
        ]
        #expect(KPLAggregate.decode(ByteBuffer(bytes: aggregate)) == .aggregate(expected))
        #expect(KPLAggregate.encode(expected) == aggregate)
    }

    @Test("a record without the magic is plain")
    func plain() {
        #expect(KPLAggregate.decode(Self.b("just data")) == .plain)
        #expect(KPLAggregate.decode(ByteBuffer()) == .plain)
        #expect(KPLAggregate.decode(ByteBuffer(bytes: [0xF3, 0x89, 0x9A])) == .plain)
    }

    @Test("a wrong digest is corrupt, with both digests in the reason")
    func badDigest() {
        var bytes = [UInt8](hex: Self.example)
        bytes[bytes.count - 1] ^= 0xFF
        guard case .corrupt(let reason) = KPLAggregate.decode(ByteBuffer(bytes: bytes)) else {
            Issue.record("not reported corrupt")
            return
        }
        #expect(reason == .digestMismatch(expected: "a259c26aacd6fffc8c074ef9719d3c1e", found: "a259c26aacd6fffc8c074ef9719d3ce1"))
        var flipped = [UInt8](hex: Self.example)
        flipped[10] ^= 0x01  // inside the protobuf: the digest no longer matches
        guard case .corrupt(.digestMismatch) = KPLAggregate.decode(ByteBuffer(bytes: flipped)) else {
            Issue.record("a changed protobuf byte was not detected")
            return
        }
    }

    @Test("a good digest over a bad protobuf is corrupt with the protobuf's fault", arguments: [
        ("1a 09 08 05 1a 05 64 61 74 61 31", "record 0 partition_key_index 5 outside a table of 0"),
        ("1a 02 1a 05", "length 5 runs past the end (0 bytes left)"),
        ("0a 03 70 6b 31 1a 02 08 00", "record 0 has no data"),
        ("0b", "unsupported wire type 3 for field 1"),
        ("0a 03 70 6b 31 1a 07 1a 05 64 61 74 61 31", "record 0 has no partition_key_index"),
    ])
    func badProtobuf(protobufHex: String, reason: String) {
        let protobuf = [UInt8](hex: protobufHex)
        let bytes = KPLAggregate.magic + protobuf + MD5.digest(protobuf)
        #expect(KPLAggregate.decode(ByteBuffer(bytes: bytes)) == .corrupt(.malformedProtobuf(reason)))
    }

    @Test("too short to hold a digest is corrupt, not dropped")
    func tooShort() {
        #expect(KPLAggregate.decode(ByteBuffer(bytes: KPLAggregate.magic + [1, 2, 3])) == .corrupt(.tooShort(7)))
    }

    @Test("an aggregate of no records yields no user records; unknown fields are skipped")
    func emptyAndUnknown() {
        #expect(KPLAggregate.decode(ByteBuffer(bytes: KPLAggregate.encode([]))) == .aggregate([]))
        // field 9 (varint) at top level and tags (field 4) inside a record are ignored
        let protobuf = [UInt8](hex: "48 07 0a 01 6b 1a 0b 08 00 1a 01 78 22 04 0a 02 74 31")
        #expect(KPLAggregate.decode(ByteBuffer(bytes: KPLAggregate.magic + protobuf + MD5.digest(protobuf)))
            == .aggregate([.init(partitionKey: Self.b("k"), data: Self.b("x"))]))
    }

    @Test("random aggregates round trip", arguments: 0..<10)
    func roundTrip(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let records = (0..<Int.random(in: 1...300, using: &rng)).map { _ in
            KPLAggregate.UserRecord(
                partitionKey: Self.b("key-\(Int.random(in: 0...20, using: &rng))"),
                explicitHashKey: Bool.random(using: &rng) ? Self.b("\(rng.next())") : nil,
                data: ByteBuffer(bytes: (0..<Int.random(in: 0...500, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            )
        }
        #expect(KPLAggregate.decode(ByteBuffer(bytes: KPLAggregate.encode(records))) == .aggregate(records))
    }
}
