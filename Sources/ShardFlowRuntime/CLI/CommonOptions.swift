import ArgumentParser
import Logging
import NIOCore

/// Options every ShardFlow process shares.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp(
        "Directory holding the group's sockets (created 0700; default: $SHARDFLOW_RUNTIME_DIR, else $XDG_RUNTIME_DIR/shardflow, else /run/shardflow for root).",
        valueName: "dir"))
    public var runtimeDir: String?

    @Option(help: ArgumentHelp("Log level (logs go to stderr).", valueName: "level"))
    public var logLevel: Logger.Level = .info

    @Option(parsing: .unconditional, help: ArgumentHelp("Largest frame accepted, in bytes (the default fits a 10 MiB record).", valueName: "bytes"))
    public var maxFrameBytes: UInt32 = FrameDecoder.defaultMaximumFrameLength

    @Option(name: .customLong("allow-uid"), help: ArgumentHelp("Also accept connections from (and connect to sockets of) this user id (repeatable).", valueName: "uid"))
    public var allowedUIDs: [UInt32] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Most connections a listener keeps open; more are refused.", valueName: "n"))
    public var maxConnections: Int = TransportConfiguration().maximumConnections

    @Option(help: ArgumentHelp("How long a peer may take to send its HELLO before its connection is closed.", valueName: "duration"))
    public var handshakeTimeout = DurationArgument(TransportConfiguration().handshakeTimeout)

    public init() {}

    /// The runtime directory (validated to exist as an option or a default).
    public var runtimeDirectory: RuntimeDirectory { RuntimeDirectory(path: runtimeDir ?? RuntimeDirectory.defaultPath ?? "") }

    public var transport: TransportConfiguration {
        var transport = TransportConfiguration()
        transport.maximumFrameLength = maxFrameBytes
        transport.allowedUIDs = Set(allowedUIDs)
        transport.maximumConnections = maxConnections
        transport.handshakeTimeout = handshakeTimeout.amount
        return transport
    }

    public mutating func validate() throws {
        guard runtimeDir ?? RuntimeDirectory.defaultPath != nil else { throw ValidationError(RuntimeDirectory.noDefaultMessage) }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
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
