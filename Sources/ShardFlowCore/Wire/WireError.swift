import NIOCore

/// A frame that could not be decoded. Carries the frame type (when known) and a hex snippet of
/// the offending bytes so a log line names exactly what arrived.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The length field announced more than the configured maximum.
        case oversizeFrame(length: UInt32, maximum: UInt32)
        /// The length field was zero: a frame needs at least its type byte.
        case emptyFrame
        /// The type byte names no known frame.
        case unknownFrameType(UInt8)
        /// The payload ended before `field` could be read.
        case truncatedPayload(field: String, needed: Int, available: Int)
        /// The payload had bytes left over after its last field.
        case trailingBytes(count: Int)
        /// The handshake was not a valid HELLO (bad magic, version, role, name).
        case badHandshake(String)
        /// A field held a value outside its domain.
        case invalidField(field: String, reason: String)
    }

    public var kind: Kind
    /// The type of the frame being decoded, when the type byte was read and known.
    public var frameType: FrameType?
    /// Hex of the first bytes of the frame (length field included), for logs.
    public var snippet: String

    /// The payload ended before `field` could be read (built out of line: the layouts' bounds
    /// checks call it only when they fail).
    @inline(never)
    static func truncated(_ field: StaticString, needed: Int, available: Int) -> WireError {
        WireError(.truncatedPayload(field: "\(field)", needed: needed, available: Swift.max(0, available)))
    }

    public init(_ kind: Kind, frameType: FrameType? = nil, snippet: String = "") {
        self.kind = kind
        self.frameType = frameType
        self.snippet = snippet
    }

    public var description: String {
        let what: String
        switch kind {
        case .oversizeFrame(let length, let maximum):
            what = "frame length \(length) exceeds the maximum of \(maximum) bytes"
        case .emptyFrame:
            what = "frame length 0 (a frame needs at least its type byte)"
        case .unknownFrameType(let type):
            what = "unknown frame type 0x\(String(type, radix: 16))"
        case .truncatedPayload(let field, let needed, let available):
            what = "payload truncated reading \(field): needed \(needed) bytes, \(available) left"
        case .trailingBytes(let count):
            what = "\(count) trailing bytes after the last field"
        case .badHandshake(let reason):
            what = "bad handshake: \(reason)"
        case .invalidField(let field, let reason):
            what = "invalid \(field): \(reason)"
        }
        let type = frameType.map { "\($0) frame: " } ?? ""
        let bytes = snippet.isEmpty ? "" : " [bytes: \(snippet)]"
        return type + what + bytes
    }
}

extension ByteBuffer {
    /// Hex of up to `limit` readable bytes starting at `index`, with "…" when cut.
    func hexSnippet(at index: Int, limit: Int = 32) -> String {
        let available = max(0, writerIndex - index)
        let count = min(available, limit)
        guard count > 0, let bytes = getBytes(at: index, length: count) else { return "" }
        var text = bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: " ")
        if available > limit { text += " …" }
        return text
    }
}
