import NIOCore

/// A fatal error; the sender closes the connection right after it.
public struct ErrorFrame: Hashable, Sendable {
    public enum Code: UInt16, Sendable, CaseIterable {
        case versionMismatch = 1
        case roleRejected = 2
        case malformedFrame = 3
        case protocolViolation = 4
        case unauthorized = 5
        case shuttingDown = 6
        case internalError = 7
    }

    /// The error code; unknown codes from newer peers decode as ``Code/internalError``'s raw
    /// value kept in `rawCode`.
    public var rawCode: UInt16
    public var message: String

    public var code: Code? { Code(rawValue: rawCode) }

    public init(code: Code, message: String) {
        self.rawCode = code.rawValue
        self.message = message
    }

    public init(rawCode: UInt16, message: String) {
        self.rawCode = rawCode
        self.message = message
    }
}

extension ErrorFrame {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> ErrorFrame {
        let code = try reader.integer("code", as: UInt16.self)
        let message = try reader.string16("message")
        try reader.expectEnd()
        return ErrorFrame(rawCode: code, message: message)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(rawCode)
        buffer.writeString16(message)
    }
}
