import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Sequence numbers")
struct SequenceNumberTests {
    static let kinesis = "49587497311274533994574834252742144236107130636007899138"

    @Test("56-digit Kinesis numbers compare numerically and echo byte for byte")
    func kinesisNumbers() throws {
        let a = try #require(SequenceNumber(Self.kinesis))
        let b = try #require(SequenceNumber("49587497311274533994574834252742144236107130636007899139"))
        let shorter = try #require(SequenceNumber("9999999999999999999999999999999999999999"))
        #expect(a < b)
        #expect(shorter < a, "fewer digits is smaller even when lexicographically larger")
        #expect(a.text == Self.kinesis)
        #expect(a.text.count == 56)
    }

    @Test("leading zeros do not change the value but are kept in the text")
    func leadingZeros() throws {
        let padded = try #require(SequenceNumber("00042"))
        let plain = try #require(SequenceNumber("42"))
        #expect(padded == plain)
        #expect(!(padded < plain) && !(plain < padded))
        #expect(padded.text == "00042")
        #expect(Set([padded, plain]).count == 1)
        #expect(try #require(SequenceNumber("0")) == (try #require(SequenceNumber("000"))))
    }

    @Test("non-digits are not sequence numbers")
    func rejects() {
        #expect(SequenceNumber("") == nil)
        #expect(SequenceNumber("12a") == nil)
        #expect(SequenceNumber("-1") == nil)
        #expect(SequenceNumber("TRIM_HORIZON") == nil)
    }

    @Test("the word-at-a-time digit check agrees with a byte-by-byte one for every byte at every offset")
    func digitCheck() {
        for length in 0..<20 {
            let digits = [UInt8]((0..<length).map { UInt8(ascii: "0") + UInt8($0 % 10) })
            #expect(digits.withUnsafeBytes(SequenceNumber.areDigits), "length \(length)")
            for position in 0..<length {
                for byte in UInt8.min...UInt8.max where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                    var bad = digits
                    bad[position] = byte
                    if bad.withUnsafeBytes(SequenceNumber.areDigits) {
                        Issue.record("byte \(byte) at \(position) of \(length) passed as a digit")
                    }
                }
            }
        }
    }

    @Test("positions order by sequence number, then sub-sequence number (nil = 0)")
    func positions() throws {
        let s1 = try #require(SequencePosition("100", 0))
        let s1sub2 = try #require(SequencePosition("100", 2))
        let s2 = try #require(SequencePosition("101", nil))
        #expect(s1 < s1sub2 && s1sub2 < s2)
        #expect(SequencePosition("100", nil) == SequencePosition("100", 0))
    }

    @Test("sentinels are recognised and order as the KCL orders them")
    func sentinels() throws {
        #expect(Checkpoint(sequenceNumber: "TRIM_HORIZON", subSequenceNumber: nil) == .trimHorizon)
        #expect(Checkpoint(sequenceNumber: "LATEST", subSequenceNumber: nil) == .latest)
        #expect(Checkpoint(sequenceNumber: "AT_TIMESTAMP", subSequenceNumber: nil) == .atTimestamp)
        #expect(Checkpoint(sequenceNumber: "SHARD_END", subSequenceNumber: nil) == .shardEnd)
        #expect(Checkpoint(sequenceNumber: "bogus", subSequenceNumber: nil) == nil)
        let position = try #require(Checkpoint(sequenceNumber: Self.kinesis, subSequenceNumber: 3))
        #expect(Checkpoint.atTimestamp < .trimHorizon)
        #expect(Checkpoint.trimHorizon < .latest)
        #expect(Checkpoint.latest < position)
        #expect(position < .shardEnd)
        #expect(position.sequenceNumberText == Self.kinesis)
        #expect(position.subSequenceNumber == 3)
        #expect(Checkpoint.shardEnd.sequenceNumberText == "SHARD_END")
    }
}
