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

/// A position inside a shard: a sequence number and, for records de-aggregated by the KCL, the
/// index of the user record inside its aggregate. Orders lexicographically, a missing
/// sub-sequence number counting as 0 (as the KCL stores it).
public struct SequencePosition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var sequenceNumber: SequenceNumber
    /// nil for records the daemon sent without one (DynamoDB Streams through KCL 1.x); it is
    /// echoed back as null.
    public var subSequenceNumber: Int64?

    public init(sequenceNumber: SequenceNumber, subSequenceNumber: Int64?) {
        self.sequenceNumber = sequenceNumber
        self.subSequenceNumber = subSequenceNumber
    }

    /// nil unless `sequenceNumber` is decimal digits.
    public init?(_ sequenceNumber: String, _ subSequenceNumber: Int64? = nil) {
        guard let number = SequenceNumber(sequenceNumber) else { return nil }
        self.init(sequenceNumber: number, subSequenceNumber: subSequenceNumber)
    }

    public static func < (lhs: SequencePosition, rhs: SequencePosition) -> Bool {
        if lhs.sequenceNumber != rhs.sequenceNumber { return lhs.sequenceNumber < rhs.sequenceNumber }
        return (lhs.subSequenceNumber ?? 0) < (rhs.subSequenceNumber ?? 0)
    }

    public static func == (lhs: SequencePosition, rhs: SequencePosition) -> Bool {
        lhs.sequenceNumber == rhs.sequenceNumber && (lhs.subSequenceNumber ?? 0) == (rhs.subSequenceNumber ?? 0)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(sequenceNumber)
        hasher.combine(subSequenceNumber ?? 0)
    }

    public var description: String {
        subSequenceNumber.map { "\(sequenceNumber.text)/\($0)" } ?? sequenceNumber.text
    }
}

/// A stored checkpoint or an initial position: a sequence position or one of the KCL's
/// sentinels. Orders as the KCL does: `AT_TIMESTAMP` < `TRIM_HORIZON` < `LATEST` < any
/// sequence number < `SHARD_END`.
public enum Checkpoint: Hashable, Comparable, Sendable, CustomStringConvertible {
    case atTimestamp
    case trimHorizon
    case latest
    case position(SequencePosition)
    case shardEnd

    /// Reads a checkpoint as the daemon sends it in `initialize`: digits or a sentinel name.
    /// nil for any other text.
    public init?(sequenceNumber: String, subSequenceNumber: Int64?) {
        switch sequenceNumber {
        case "TRIM_HORIZON": self = .trimHorizon
        case "LATEST": self = .latest
        case "AT_TIMESTAMP": self = .atTimestamp
        case "SHARD_END": self = .shardEnd
        default:
            guard let position = SequencePosition(sequenceNumber, subSequenceNumber) else { return nil }
            self = .position(position)
        }
    }

    /// The `sequenceNumber` text for the MLD protocol and state files.
    public var sequenceNumberText: String {
        switch self {
        case .atTimestamp: "AT_TIMESTAMP"
        case .trimHorizon: "TRIM_HORIZON"
        case .latest: "LATEST"
        case .shardEnd: "SHARD_END"
        case .position(let position): position.sequenceNumber.text
        }
    }

    public var subSequenceNumber: Int64? {
        if case .position(let position) = self { return position.subSequenceNumber }
        return nil
    }

    public var description: String {
        if case .position(let position) = self { return position.description }
        return sequenceNumberText
    }

    private var rank: Int {
        switch self {
        case .atTimestamp: 0
        case .trimHorizon: 1
        case .latest: 2
        case .position: 3
        case .shardEnd: 4
        }
    }

    public static func < (lhs: Checkpoint, rhs: Checkpoint) -> Bool {
        if case .position(let left) = lhs, case .position(let right) = rhs { return left < right }
        return lhs.rank < rhs.rank
    }
}
