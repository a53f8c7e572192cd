/// The reply an `exec:` processor child writes for one batch, in the shape of AWS Lambda's
/// partial batch responses: `{"batchItemFailures":[{"itemIdentifier":"3","reason":"…"}]}`,
/// optionally echoing `"batchId"`. Parsed strictly: anything else is an error that shows the
/// offending bytes.
public enum ExecReply {
    /// Why a reply line is not a valid reply.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
        public var description: String

        public init(description: String) { self.description = description }
        public init(stringLiteral value: String) { description = value }
    }

    /// The failed items of the batch, by position, with their reasons (the native format:
    /// identifiers are positions in the batch).
    public static func parse(_ line: [UInt8], itemCount: Int, batchId: Int) throws(Failure) -> [Int: String] {
        try parse(line, batchId: batchId) { identifier in
            guard let position = Int(identifier), (0..<itemCount).contains(position) else {
                return .failure("itemIdentifier \"\(identifier)\" is not one of this batch's items (0 to \(itemCount - 1))")
            }
            return .success([position])
        }
    }

    /// The failed items of the batch, by position, with their reasons; `positions` maps an
    /// `itemIdentifier` to the items it names (the Lambda format: a sequence number names every
    /// item of its record), or says why it names none. `batchId`: the batch number a reply may
    /// echo (nil: none is expected).
    public static func parse(
        _ line: [UInt8], batchId: Int?, positions: (String) -> Result<[Int], Failure>
    ) throws(Failure) -> [Int: String] {
        let hint = line.first == UInt8(ascii: "{") ? "" : " (a line on stdout that is not a reply? logs belong on stderr)"
        let result: Result<[Int: String], Failure> = line.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            var failures: [Int: String] = [:]
            var sawFailures = false
            do {
                try scanner.beginObject()
                while let key = try scanner.nextKey() {
                    if scanner.string(key, equals: "batchItemFailures") {
                        sawFailures = true
                        guard !scanner.consumeNull() else { continue }
                        try scanner.beginArray()
                        while try scanner.nextElement() {
                            var identifier: String?
                            var reason = "failed"
                            try scanner.beginObject()
                            while let field = try scanner.nextKey() {
                                if scanner.string(field, equals: "itemIdentifier") {
                                    scanner.skipWhitespace()
                                    if scanner.position < raw.count, raw[scanner.position] == UInt8(ascii: "\"") {
                                        identifier = try scanner.string(try scanner.readString())
                                    } else {
                                        identifier = String(try scanner.readInteger())
                                    }
                                } else if scanner.string(field, equals: "reason") {
                                    if let text = try scanner.readOptionalString() { reason = try scanner.string(text) }
                                } else {
                                    try scanner.skipValue()
                                }
                            }
                            guard let identifier else {
                                return .failure(Failure(description: "a batchItemFailures entry without an itemIdentifier: \(snippet(line))"))
                            }
                            switch positions(identifier) {
                            case .success(let named):
                                for position in named { failures[position] = "exec: \(reason)" }
                            case .failure(let why):
                                return .failure(Failure(description: "\(why.description): \(snippet(line))"))
                            }
                        }
                    } else if scanner.string(key, equals: "batchId") {
                        let echoed = try scanner.readInteger()
                        if let batchId, echoed != batchId {
                            return .failure(Failure(description: "batchId \(echoed) for batch \(batchId): \(snippet(line))"))
                        }
                    } else {
                        try scanner.skipValue()
                    }
                }
                try scanner.expectEnd()
            } catch {
                return .failure(Failure(description: "invalid JSON (\(error)): \(snippet(line))\(hint)"))
            }
            guard sawFailures else {
                return .failure(Failure(description: "a reply without \"batchItemFailures\": \(snippet(line))\(hint)"))
            }
            return .success(failures)
        }
        return try result.get()
    }

    /// The start of `bytes` as text, for messages.
    public static func snippet(_ bytes: [UInt8], limit: Int = 200) -> String {
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self)
        return "\"\(text)\(bytes.count > limit ? "…" : "")\" (\(bytes.count) bytes)"
    }
}
