/// One `--source`: where a stream's records come from, and the stream's name — which every item
/// carries to the processor and, for local sources, names the stream's state directory
/// (`STATE/<name>/checkpoints.json`).
///
/// Written `[NAME=]file:PATH`, `[NAME=]generate:COUNT[,…]`, `[NAME=]kcl:PROPERTIES` or `none`.
/// Without `NAME=`, a file source is named after its file (`orders.jsonl` → `orders`), a
/// generated one `generated`, and a KCL one after the stream its properties name.
public struct StreamSource: Sendable, Hashable, CustomStringConvertible {
    /// The stream's name; nil until resolved (``resolvingName()``) when none was given.
    public var name: String?
    public var specification: SourceSpecification

    public init(name: String?, specification: SourceSpecification) {
        self.name = name
        self.specification = specification
    }

    /// Parses `[NAME=]SPECIFICATION`.
    public init?(argument: String) {
        if let equals = argument.firstIndex(of: "="), Self.isValidName(String(argument[..<equals])),
           let specification = SourceSpecification(argument: String(argument[argument.index(after: equals)...])),
           specification != .none {
            self.init(name: String(argument[..<equals]), specification: specification)
        } else if let specification = SourceSpecification(argument: argument) {
            self.init(name: nil, specification: specification)
        } else {
            return nil
        }
    }

    public var description: String {
        name.map { "\($0)=\(specification)" } ?? specification.description
    }

    /// The resolved name (``resolvingName()`` must have run).
    public var stream: String { name ?? "" }

    /// Whether the launcher itself plays the daemon (file and generate sources).
    public var isLocal: Bool { specification.isLocal }

    /// A stream name: 1 to 128 letters, digits, `.`, `_` or `-` (what Kinesis allows in a stream
    /// name, and safe as a directory name), not `.` or `..`.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...128).contains(name.utf8.count), name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }

    /// This source with its name set: the given one, or the default for its kind.
    public func resolvingName() throws -> StreamSource {
        guard name == nil else { return self }
        var resolved = self
        switch specification {
        case .file(let path):
            let file = path.split(separator: "/").last.map(String.init) ?? path
            let base = file.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) ?? file
            resolved.name = Self.sanitized(base.isEmpty ? file : base)
        case .generate:
            resolved.name = "generated"
        case .kcl(let properties):
            let entries = try KCLProperties.read(properties).entries
            let stream = entries.last { $0.key == "streamName" }?.value ?? entries.last { $0.key == "streamArn" }?.value ?? ""
            resolved.name = Self.sanitized(Self.streamName(fromNameOrARN: stream))
        case .none:
            resolved.name = ""
        }
        return resolved
    }

    /// `orders` from `orders` or `arn:aws:kinesis:…:stream/orders`; `Orders` from a DynamoDB
    /// stream ARN `arn:aws:dynamodb:…:table/Orders/stream/2026-…`.
    static func streamName(fromNameOrARN text: String) -> String {
        guard text.hasPrefix("arn:") else { return text }
        let parts = text.split(separator: "/")
        if let table = parts.firstIndex(where: { $0.hasSuffix(":table") }), table + 1 < parts.count { return String(parts[table + 1]) }
        return parts.last.map(String.init) ?? text
    }

    /// Replaces characters a stream name cannot hold with `_`.
    static func sanitized(_ text: String) -> String {
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.prefix(128).map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || ".-_".unicodeScalars.contains(scalar)) ? scalar : "_"
        }))
        return isValidName(cleaned) ? cleaned : "stream"
    }
}
