import NIOCore

/// When a supervised process (or the source) that exited is started again: after a doubling
/// delay, unless it exited by itself more than `limit` times within `window` — then it is given
/// up, and with it the run. Exits caused from outside (a SIGKILL from an operator or a test)
/// are restarted but not counted (see ``ProcessTermination/isSelfInflicted``). The one restart
/// rule of the launcher.
public struct RestartPolicy: Sendable, Hashable {
    public var limit: Int
    public var window: TimeAmount
    public var backoff: ExponentialBackoff

    public init(
        limit: Int = 5,
        window: TimeAmount = .seconds(60),
        backoff: ExponentialBackoff = ExponentialBackoff(initial: .milliseconds(100), maximum: .seconds(5))
    ) {
        self.limit = limit
        self.window = window
        self.backoff = backoff
    }

    public enum Decision: Hashable, Sendable {
        /// Start it again after this delay; `attempt` counts the exits within the window.
        case restart(after: TimeAmount, attempt: Int)
        /// It exited `exits` times within the window: stop trying.
        case giveUp(exits: Int)
    }

    /// Records an exit at `now` in `exits` (dropping those older than the window) and decides.
    /// An exit that does not `count` (caused from outside) is restarted after the backoff of
    /// the exits counted so far, without adding to them.
    public func exited(at now: NIODeadline, counts: Bool = true, history exits: inout [NIODeadline]) -> Decision {
        exits = exits.filter { now - $0 < window } + (counts ? [now] : [])
        guard exits.count <= limit else { return .giveUp(exits: exits.count) }
        return .restart(after: backoff.delay(attempt: max(exits.count, 1)), attempt: exits.count)
    }
}
