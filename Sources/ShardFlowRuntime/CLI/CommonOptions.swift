import ArgumentParser
import Logging
import NIOCore

/// The ShardFlow version, printed by every executable's `--version`.
public enum ShardFlowVersion {
    public static let current = "0.1.0"
}

/// Options every ShardFlow process shares.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("Directory holding the group's sockets (created 0700).", valueName: "dir"))
    public var runtimeDir: String = RuntimeDirectory.defaultPath

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp("Largest frame accepted, in bytes (the default fits a 10 MiB record).", valueName: "bytes"))
    public var maxFrameBytes: UInt32 = FrameDecoder.defaultMaximumFrameLength

    @Option(name: .customLong("allow-uid"), help: ArgumentHelp("Also accept connections from this user id (repeatable).", valueName: "uid"))
    public var allowedUIDs: [UInt32] = []

    public init() {}

    public var runtimeDirectory: RuntimeDirectory { RuntimeDirectory(path: runtimeDir) }

    public var transport: TransportConfiguration {
        var transport = TransportConfiguration()
        transport.maximumFrameLength = maxFrameBytes
        transport.allowedUIDs = Set(allowedUIDs)
        return transport
    }

    public mutating func validate() throws {
        guard maxFrameBytes >= 64 * 1024 else {
            throw ValidationError("--max-frame-bytes must be at least 65536")
        }
    }

    /// Sends log lines to stderr (stdout may belong to a protocol) with this level.
    public func bootstrapLogging(label: String) -> Logger {
        let level = logLevel
        LoggingSystem.bootstrap { name in
            var handler = StreamLogHandler.standardError(label: name)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A duration on the command line: `250ms`, `5s`, `2m`, `1h`, or plain seconds.
public struct DurationArgument: ExpressibleByArgument, Sendable, Hashable, CustomStringConvertible {
    public var amount: TimeAmount

    public init(_ amount: TimeAmount) { self.amount = amount }

    public init?(argument: String) {
        let units: [(String, Int64)] = [("ms", 1_000_000), ("us", 1000), ("µs", 1000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        for (suffix, nanoseconds) in units where argument.hasSuffix(suffix) {
            guard let value = Double(argument.dropLast(suffix.count)), value >= 0 else { return nil }
            amount = .nanoseconds(Int64(value * Double(nanoseconds)))
            return
        }
        guard let seconds = Double(argument), seconds >= 0 else { return nil }
        amount = .nanoseconds(Int64(seconds * 1e9))
    }

    public var description: String { amount.prettyDescription }
    public var defaultValueDescription: String { amount.prettyDescription }
}

extension ListenAddress {
    /// The socket passed by systemd under `name` (or the only one passed), else `path`.
    public static func resolve(activationName name: String, fallbackPath path: String) throws -> ListenAddress {
        let passed = try SocketActivation.takePassedSockets()
        if let match = passed.first(where: { $0.name == name }) ?? (passed.count == 1 ? passed.first : nil) {
            return .descriptor(match.descriptor, name: match.name)
        }
        if !passed.isEmpty {
            throw ConfigurationError("systemd passed sockets \(passed.map(\.name)) but none is named \"\(name)\" (set FileDescriptorName=\(name) in the .socket unit)")
        }
        return .path(path)
    }
}
