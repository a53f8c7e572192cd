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

    /// Sends other assignments (`NAME=value` lines; systemd ignores names it does not know).
    public static func notify(_ assignments: String) {
        send(assignments)
    }

    /// Whether a notify socket is configured.
    public static var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    private static func send(_ state: String) {
        guard isEnabled else { return }
        _ = sd_notify(0, state)
    }
}
