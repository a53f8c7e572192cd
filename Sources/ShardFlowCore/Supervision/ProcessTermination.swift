#if canImport(Glibc)
import Glibc
#endif

/// How a process ended: its exit status, or the signal that ended it.
public enum ProcessTermination: Hashable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// Decodes a `wait` status.
    public init(status: Int32) {
        if status & 0x7F == 0 {
            self = .exited((status >> 8) & 0xFF)
        } else {
            self = .signaled(status & 0x7F)
        }
    }

    public var isSuccess: Bool { self == .exited(0) }

    /// Whether the process ended by itself — an exit status, or a signal a crash raises
    /// (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS) — rather than being killed
    /// from outside (SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT, …: an operator, the OOM killer,
    /// a fault-injection test). Only the former counts toward the restart limit: a crash loop
    /// ends the run, a process killed now and then is just restarted.
    public var isSelfInflicted: Bool {
        switch self {
        case .exited: true
        case .signaled(let signal): [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS].contains(signal)
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal)\(Self.name(of: signal).map { " (\($0))" } ?? "")"
        }
    }

    static func name(of signal: Int32) -> String? {
        switch signal {
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGILL: "SIGILL"
        case SIGHUP: "SIGHUP"
        default: nil
        }
    }
}
