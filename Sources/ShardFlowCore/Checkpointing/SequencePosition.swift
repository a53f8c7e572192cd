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
