import CSystemd
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Readiness, status and watchdog notifications to the service manager (`sd_notify`).
///
/// Without `NOTIFY_SOCKET` in the environment every call is a cheap no-op, so the same binary
/// runs under systemd, under the launcher (which provides its own notify socket) and by hand.
public enum SystemdNotifier {
    /// Sends `READY=1`: the process can serve.
    public static func ready(status: String? = nil) {
        send("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
    }

    /// Sends a `STATUS=` line shown by `systemctl status`.
    public static func status(_ text: String) {
        send("STATUS=\(text.replacing("\n", with: " "))")
    }

    /// Sends `STOPPING=1`: the process is draining.
    public static func stopping(status: String? = nil) {
        send("STOPPING=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
    }

    /// Sends `WATCHDOG=1`.
    public static func watchdog() {
        send("WATCHDOG=1")
    }

    /// The interval at which to ping the watchdog (half of `WATCHDOG_USEC`), or nil when no
    /// watchdog is configured for this process.
    public static var watchdogInterval: TimeAmount? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds / 2))
    }

    /// Whether a notify socket is configured.
    public static var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    private static func send(_ state: String) {
        guard isEnabled else { return }
        _ = sd_notify(0, state)
    }
}

/// Listening sockets passed by socket activation (`LISTEN_FDS`, `LISTEN_FDNAMES`).
public enum SocketActivation {
    /// A passed file descriptor and the name the unit gave it (`FileDescriptorName=`).
    public struct PassedSocket: Hashable, Sendable {
        public var descriptor: CInt
        public var name: String
    }

    /// The sockets passed to this process, consumed once (the environment variables are
    /// unset so children do not inherit them). Each is checked to be a listening Unix stream
    /// socket.
    public static func takePassedSockets() throws -> [PassedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count >= 0 else { throw SystemCallError(call: "sd_listen_fds_with_names", code: -count) }
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        var sockets: [PassedSocket] = []
        for offset in 0..<Int(count) {
            let descriptor = SD_LISTEN_FDS_START + CInt(offset)
            let name = names?[offset].map { String(cString: $0) } ?? "unknown"
            let isUnixStream = sd_is_socket_unix(descriptor, CInt(SOCK_STREAM.rawValue), 1, nil, 0)
            guard isUnixStream > 0 else {
                throw ConfigurationError("passed file descriptor \(descriptor) (\"\(name)\") is not a listening Unix stream socket")
            }
            sockets.append(PassedSocket(descriptor: descriptor, name: name))
        }
        return sockets
    }
}

/// A failed system call, with its errno.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var code: CInt

    public init(call: String, code: CInt) {
        self.call = call
        self.code = code
    }

    public var description: String { "\(call) failed: \(String(cString: strerror(code))) (errno \(code))" }
}

/// A configuration problem found at start-up, with what to do about it.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) { self.description = description }
}
