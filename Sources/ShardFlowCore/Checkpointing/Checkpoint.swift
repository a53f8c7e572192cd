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
