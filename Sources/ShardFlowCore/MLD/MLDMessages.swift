/// Messages of the KCL MultiLangDaemon protocol: one JSON object per line, daemon → child on
/// the child's stdin and child → daemon on its stdout. See `docs/multilang-protocol.md`.

/// A message the daemon sends to a child (the worker).
public enum DaemonMessage: Hashable, Sendable {
    /// The lease's shard and its stored checkpoint (digits, or a sentinel such as `TRIM_HORIZON`).
    case initialize(shardId: String, sequenceNumber: String?, subSequenceNumber: Int64?)
    case processRecords(records: [MLDRecord], millisBehindLatest: Int64?)
    /// The daemon's reply to a child's checkpoint request, echoing the requested position;
    /// `error` is the Java exception's simple class name, or nil on success.
    case checkpoint(sequenceNumber: String?, subSequenceNumber: Int64?, error: String?)
    /// KCL 2.1+: another worker took the lease; do not checkpoint.
    case leaseLost
    /// KCL 2.1+: the shard was closed by a reshard and fully read; checkpoint (null) before
    /// the status or the child shards never start.
    case shardEnded
    /// The daemon is shutting down gracefully: last chance to checkpoint.
    case shutdownRequested
    /// KCL 1.x and 2.0.x: `TERMINATE`/`SHARD_END` = shard ended, `ZOMBIE`/`LEASE_LOST` = lease lost.
    case shutdown(reason: ShutdownReason)

    /// The `action` value, which is also what the child's status must name in `responseFor`.
    public var action: String {
        switch self {
        case .initialize: "initialize"
        case .processRecords: "processRecords"
        case .checkpoint: "checkpoint"
        case .leaseLost: "leaseLost"
        case .shardEnded: "shardEnded"
        case .shutdownRequested: "shutdownRequested"
        case .shutdown: "shutdown"
        }
    }
}

/// A message a child sends to the daemon.
public enum ChildMessage: Hashable, Sendable {
    /// "Done with the message whose action was `responseFor`."
    case status(responseFor: String)
    /// Checkpoint at this position; `sequenceNumber` nil = the largest delivered so far (at
    /// shard end: `SHARD_END`); `subSequenceNumber` nil = 0.
    case checkpoint(sequenceNumber: String?, subSequenceNumber: Int64?)
}

/// A record inside `processRecords`.
public struct MLDRecord: Hashable, Sendable {
    /// The record's bytes (base64 on the wire).
    public var data: [UInt8]
    /// nil for DynamoDB Streams records through the 1.x adapter.
    public var partitionKey: String?
    /// Decimal digits, kept exactly as received.
    public var sequenceNumber: String
    /// 0 for plain records, the index inside a KCL-de-aggregated KPL record; nil from KCL 1.x
    /// for DynamoDB Streams.
    public var subSequenceNumber: Int64?
    /// Epoch milliseconds.
    public var approximateArrivalTimestamp: Int64?

    public init(
        data: [UInt8],
        partitionKey: String?,
        sequenceNumber: String,
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?
    ) {
        self.data = data
        self.partitionKey = partitionKey
        self.sequenceNumber = sequenceNumber
        self.subSequenceNumber = subSequenceNumber
        self.approximateArrivalTimestamp = approximateArrivalTimestamp
    }
}

/// The `reason` of a legacy `shutdown` message.
public enum ShutdownReason: Hashable, Sendable, CustomStringConvertible {
    /// KCL 1.x: the shard ended (checkpoint required).
    case terminate
    /// KCL 1.x: the lease was lost (do not checkpoint).
    case zombie
    /// KCL 2.0.x name of `terminate`.
    case shardEnd
    /// KCL 2.0.x name of `zombie`.
    case leaseLost
    /// Any other value, kept verbatim; treated like a lost lease (no checkpoint).
    case other(String)

    public init(_ text: String) {
        switch text {
        case "TERMINATE": self = .terminate
        case "ZOMBIE": self = .zombie
        case "SHARD_END": self = .shardEnd
        case "LEASE_LOST": self = .leaseLost
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .terminate: "TERMINATE"
        case .zombie: "ZOMBIE"
        case .shardEnd: "SHARD_END"
        case .leaseLost: "LEASE_LOST"
        case .other(let text): text
        }
    }

    /// Whether the shard ended, so the child must checkpoint before its status.
    public var isShardEnd: Bool {
        switch self {
        case .terminate, .shardEnd: true
        case .zombie, .leaseLost, .other: false
        }
    }
}

/// A line from the other side that could not be understood. Names the line (by number when
/// known) and shows its beginning.
public struct MLDError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable, CustomStringConvertible {
        case invalidJSON(JSONError)
        case missingAction
        case unknownAction(String)
        case missingField(String)
        case invalidField(field: String, reason: String)
        case unexpectedKey(String)

        public var description: String {
            switch self {
            case .invalidJSON(let error): "invalid JSON: \(error)"
            case .missingAction: "message has no \"action\""
            case .unknownAction(let action): "unknown action \"\(action)\""
            case .missingField(let field): "missing field \"\(field)\""
            case .invalidField(let field, let reason): "invalid \"\(field)\": \(reason)"
            case .unexpectedKey(let key): "unexpected key \"\(key)\""
            }
        }
    }

    public var kind: Kind
    /// The first characters of the offending line.
    public var snippet: String
    /// 1-based line number on the stream, when the reader counts lines.
    public var lineNumber: Int?

    public init(_ kind: Kind, snippet: String = "", lineNumber: Int? = nil) {
        self.kind = kind
        self.snippet = snippet
        self.lineNumber = lineNumber
    }

    public var description: String {
        let line = lineNumber.map { "line \($0): " } ?? ""
        return "\(line)\(kind) in: \(snippet)"
    }

    static func snippet(of line: UnsafeRawBufferPointer, limit: Int = 160) -> String {
        let text = String(decoding: line.prefix(limit), as: UTF8.self)
        return line.count > limit ? text + "…" : text
    }
}
