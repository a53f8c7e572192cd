import NIOCore

/// Where the launcher's records come from (`--source`).
public enum SourceSpecification: Sendable, Hashable, CustomStringConvertible {
    /// JSON lines `{"partitionKey": "...", "data": "<base64>"}` (the local source).
    case file(path: String)
    /// Synthetic records (the local source); `rate`: records per second over all shards, in
    /// small batches every millisecond (nil: as fast as the group takes them).
    case generate(count: Int, size: Int, keys: Int, rate: Int? = nil)
    /// The Java KCL MultiLangDaemon with these properties.
    case kcl(properties: String)
    /// Only the group; workers are started by someone else.
    case none

    /// Parses `file:PATH`, `generate:COUNT[,size=BYTES][,keys=K][,rate=PER_SECOND]`, `kcl:PROPERTIES` or `none`.
    public init?(argument: String) {
        if argument == "none" {
            self = .none
        } else if argument.hasPrefix("file:"), argument.count > 5 {
            self = .file(path: String(argument.dropFirst(5)))
        } else if argument.hasPrefix("kcl:"), argument.count > 4 {
            self = .kcl(properties: String(argument.dropFirst(4)))
        } else if argument.hasPrefix("generate:") {
            let parts = argument.dropFirst(9).split(separator: ",")
            guard let first = parts.first, let count = Int(first), count >= 0 else { return nil }
            var size = 100
            var keys = 1000
            var rate: Int?
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, let value = Int(pair[1]), value > 0 else { return nil }
                switch pair[0] {
                case "size": size = value
                case "keys": keys = value
                case "rate": rate = value
                default: return nil
                }
            }
            self = .generate(count: count, size: size, keys: keys, rate: rate)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .file(let path): "file:\(path)"
        case .generate(let count, let size, let keys, let rate): "generate:\(count),size=\(size),keys=\(keys)" + (rate.map { ",rate=\($0)" } ?? "")
        case .kcl(let properties): "kcl:\(properties)"
        case .none: "none"
        }
    }

    /// Whether the launcher itself plays the daemon (file and generate sources).
    public var isLocal: Bool {
        switch self {
        case .file, .generate: true
        case .kcl, .none: false
        }
    }
}
