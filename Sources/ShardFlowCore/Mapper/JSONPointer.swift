import NIOCore

/// An RFC 6901 JSON pointer such as `/dynamodb/Keys/id/S`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    public struct Failure: Error, Sendable, Hashable {
        public var message: String
    }

    public let tokens: [String]

    /// nil unless `text` is empty or starts with `/`.
    public init?(_ text: String) {
        guard text.isEmpty || text.hasPrefix("/") else { return nil }
        tokens = text.isEmpty ? [] : text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingEscapes()
        }
    }

    public var description: String {
        tokens.map { "/" + $0.replacing("~", with: "~0").replacing("/", with: "~1") }.joined()
    }

    /// The selected value of the JSON document `data`: a string's unescaped bytes, or the raw
    /// JSON text of another value.
    public func select(in data: ByteBuffer) -> Result<ByteBuffer, Failure> {
        data.withUnsafeReadableBytes { bytes in
            var scanner = JSONScanner(bytes)
            do {
                for (depth, token) in tokens.enumerated() {
                    guard try descend(&scanner, into: token) else {
                        let path = tokens[...depth].map { "/" + $0 }.joined()
                        return .failure(Failure(message: "no value at \(path)"))
                    }
                }
                scanner.skipWhitespace()
                let start = scanner.position
                if start < bytes.count, bytes[start] == UInt8(ascii: "\"") {
                    let ref = try scanner.readString()
                    return .success(ByteBuffer(bytes: try scanner.unescaped(ref)))
                }
                try scanner.skipValue()
                return .success(data.getSlice(at: data.readerIndex + start, length: scanner.position - start)!)
            } catch {
                return .failure(Failure(message: "data is not JSON: \(error)"))
            }
        }
    }

    /// Positions the scanner on the member `token` of the current object or array.
    private func descend(_ scanner: inout JSONScanner, into token: String) throws(JSONError) -> Bool {
        scanner.skipWhitespace()
        guard scanner.position < scanner.bytes.count else { throw JSONError("expected a value", at: scanner.position) }
        switch scanner.bytes[scanner.position] {
        case UInt8(ascii: "{"):
            try scanner.beginObject()
            while let key = try scanner.nextKey() {
                if try scanner.string(key) == token { return true }
                try scanner.skipValue()
            }
            return false
        case UInt8(ascii: "["):
            guard let wanted = Int(token), wanted >= 0 else { return false }
            try scanner.beginArray()
            var index = 0
            while try scanner.nextElement() {
                if index == wanted { return true }
                try scanner.skipValue()
                index += 1
            }
            return false
        default:
            try scanner.skipValue()
            return false
        }
    }
}

extension Substring {
    fileprivate func replacingEscapes() -> String {
        String(self).replacing("~1", with: "/").replacing("~0", with: "~")
    }
}
