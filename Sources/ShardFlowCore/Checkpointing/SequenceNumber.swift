import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Kinesis or DynamoDB Streams sequence number: a decimal string of any length (current
/// Kinesis ones have 56 digits, more than 128 bits).
///
/// The digits are kept byte for byte so they can be echoed back in checkpoints; comparisons
/// are numeric (leading zeros do not matter). They are held in a `ByteBuffer`, so a worker can
/// refer to the digits inside a record it already holds without copying them.
public struct SequenceNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The digits exactly as received.
    public let digits: ByteBuffer

    /// nil unless `text` is one or more ASCII digits.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else { return nil }
        self.digits = ByteBuffer(string: text)
    }

    /// Whether every byte is an ASCII decimal digit (eight at a time: this runs for every record).
    public static func areDigits(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var at = 0
        while at + 8 <= bytes.count {
            // Digits are 0x30...0x39: after xor 0x30 each byte must be at most 9, i.e. have no
            // high nibble and not carry into bit 4 when 6 is added (no carry between bytes).
            let word = base.loadUnaligned(fromByteOffset: at, as: UInt64.self) ^ 0x3030_3030_3030_3030
            guard word & 0xF0F0_F0F0_F0F0_F0F0 == 0, (word &+ 0x0606_0606_0606_0606) & 0x1010_1010_1010_1010 == 0 else {
                return false
            }
            at += 8
        }
        while at < bytes.count {
            guard bytes[at] &- UInt8(ascii: "0") < 10 else { return false }
            at += 1
        }
        return true
    }

    /// For bytes already checked to be decimal digits (the MLD decoder validates every record's).
    public init(validatedDigits digits: ByteBuffer) {
        self.digits = digits
    }

    /// For text already checked to be decimal digits.
    public init(validatedDigits text: String) {
        self.digits = ByteBuffer(string: text)
    }

    /// The digits as text.
    public var text: String { String(buffer: digits) }

    public var description: String { text }

    /// Calls `body` with the digits without leading zeros ("0" for zero).
    private func withSignificantDigits<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        digits.withUnsafeReadableBytes { bytes in
            var start = 0
            while start < bytes.count - 1, bytes[start] == UInt8(ascii: "0") { start += 1 }
            return body(UnsafeRawBufferPointer(rebasing: bytes[start...]))
        }
    }

    public static func == (lhs: SequenceNumber, rhs: SequenceNumber) -> Bool {
        lhs.withSignificantDigits { left in
            rhs.withSignificantDigits { right in
                left.count == right.count && (left.isEmpty || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withSignificantDigits { hasher.combine(bytes: $0) }
    }

    public static func < (lhs: SequenceNumber, rhs: SequenceNumber) -> Bool {
        lhs.withSignificantDigits { left in
            rhs.withSignificantDigits { right in
                if left.count != right.count { return left.count < right.count }
                return !left.isEmpty && memcmp(left.baseAddress!, right.baseAddress!, left.count) < 0
            }
        }
    }
}
