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

    /// The key selected in the JSON document `data`: a string's unescaped text, or the
    /// canonical text of any other value (``JSONValue/canonicalText``), so the same value is
    /// always the same key however the document spells it.
    public func select(in data: ByteBuffer) -> Result<ByteBuffer, Failure> {
        data.withUnsafeReadableBytes { bytes in
            var scanner = JSONScanner(bytes)
            do {
                let (start, isString) = try locate(in: &scanner)
                if isString {
                    let ref = try scanner.readString()
                    return .success(ByteBuffer(bytes: try scanner.unescaped(ref)))
                }
                try scanner.skipValue()
                let value = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<scanner.position]))
                return .success(ByteBuffer(bytes: value.canonicalText))
            } catch let failure as Failure {
                return .failure(failure)
            } catch {
                return .failure(Failure(message: "data is not JSON: \(error)"))
            }
        }
    }

    /// The value at this pointer in the JSON document `data`, parsed strictly.
    public func value(in data: ByteBuffer) -> Result<JSONValue, Failure> {
        data.withUnsafeReadableBytes { bytes in
            var scanner = JSONScanner(bytes)
            do {
                let (start, _) = try locate(in: &scanner)
                try scanner.skipValue()
                return .success(try JSONParser.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<scanner.position])))
            } catch let failure as Failure {
                return .failure(failure)
            } catch {
                return .failure(Failure(message: "data is not JSON: \(error)"))
            }
        }
    }

    /// Moves the scanner to the selected value; returns its offset and whether it is a string.
    private func locate(in scanner: inout JSONScanner) throws -> (Int, Bool) {
        for (depth, token) in tokens.enumerated() {
            guard try descend(&scanner, into: token) else {
                let path = tokens[...depth].map { "/" + $0 }.joined()
                throw Failure(message: "no value at \(path)")
            }
        }
        scanner.skipWhitespace()
        let start = scanner.position
        return (start, start < scanner.bytes.count && scanner.bytes[start] == UInt8(ascii: "\""))
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
