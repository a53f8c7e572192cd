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
