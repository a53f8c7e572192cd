import CSystemd
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Runs a long-lived ShardFlow process: starts its service, reports readiness, pings the
/// watchdog, and on SIGTERM/SIGINT drains gracefully (a second signal, or the drain timeout,
/// ends it at once).
public enum ProcessLifecycle {
    /// A started service, as the lifecycle sees it.
    public struct Hooks: Sendable {
        /// Starts serving; completes when the process can serve (then `READY=1` is sent).
        public var start: @Sendable () -> EventLoopFuture<Void>
        /// Stops intake and finishes in-flight work; completes when the process may exit.
        public var drain: @Sendable (_ reason: String) -> EventLoopFuture<Void>
        /// A `STATUS=` line, refreshed every few seconds.
        public var status: @Sendable () -> String

        public init(
            start: @escaping @Sendable () -> EventLoopFuture<Void>,
            drain: @escaping @Sendable (_ reason: String) -> EventLoopFuture<Void>,
            status: @escaping @Sendable () -> String
        ) {
            self.start = start
            self.drain = drain
            self.status = status
        }
    }

    /// When the launcher starts a process it sets `SHARDFLOW_PARENT_PID`: the process then dies
    /// with the launcher instead of lingering as an orphan.
    public static func followParentIfLaunched() {
        guard let text = getenv("SHARDFLOW_PARENT_PID").map({ String(cString: $0) }), let parent = pid_t(text) else { return }
        _ = shardflow_set_parent_death_signal(SIGTERM)
        if getppid() != parent { exit(0) }
    }

    /// Runs until drained; returns the exit code.
    public static func run(
        eventLoop: EventLoop,
        logger: Logger,
        drainTimeout: TimeAmount = .seconds(30),
        statusInterval: TimeAmount = .seconds(2),
        hooks: Hooks
    ) -> Int32 {
        followParentIfLaunched()
        let finished = eventLoop.makePromise(of: Int32.self)
        let state = NIOLockedValueBox(DrainState())
        let complete: @Sendable (Int32) -> Void = { code in
            let first = state.withLockedValue { state -> Bool in
                defer { state.done = true }
                return !state.done
            }
            if first { finished.succeed(code) }
        }

        signal(SIGPIPE, SIG_IGN)
        // Under the launcher, Ctrl-C reaches the whole process group: the launcher alone decides
        // the drain order (workers first), so launched processes react to SIGTERM only.
        let launched = getenv("SHARDFLOW_PARENT_PID") != nil
        SignalWaiter.start { signalNumber in
            if launched, signalNumber == SIGINT { return }
            let name = signalNumber == SIGTERM ? "SIGTERM" : "SIGINT"
            let first = state.withLockedValue { state -> Bool in
                defer { state.signals += 1 }
                return state.signals == 0
            }
            guard first else {
                logger.warning("second \(name): exiting without finishing the drain")
                complete(1)
                return
            }
            logger.info("\(name): draining")
            SystemdNotifier.stopping(status: "draining after \(name)")
            eventLoop.execute {
                hooks.drain(name).whenComplete { result in
                    if case .failure(let error) = result { logger.error("drain failed: \(error)") }
                    SystemdNotifier.status(hooks.status())
                    complete(0)
                }
                eventLoop.scheduleTask(in: drainTimeout) {
                    logger.warning("drain did not finish within \(drainTimeout.prettyDescription); exiting")
                    complete(1)
                }
            }
        }

        eventLoop.execute {
            hooks.start().whenComplete { result in
                switch result {
                case .success:
                    SystemdNotifier.ready(status: hooks.status())
                    scheduleStatus(eventLoop: eventLoop, interval: statusInterval, hooks: hooks)
                    if let interval = SystemdNotifier.watchdogInterval {
                        eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { _ in SystemdNotifier.watchdog() }
                    }
                case .failure(let error):
                    logger.critical("cannot start: \(error)")
                    complete(1)
                }
            }
        }
        return (try? finished.futureResult.wait()) ?? 1
    }

    private static func scheduleStatus(eventLoop: EventLoop, interval: TimeAmount, hooks: Hooks) {
        eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            SystemdNotifier.status(hooks.status())
        }
    }

    private struct DrainState: Sendable {
        var signals = 0
        var done = false
    }
}

/// Prepares a ShardFlow process's signal handling; call first thing on the main thread, before
/// any other thread starts. A process inherits its parent's signal mask and dispositions (some
/// parents start children with signals blocked or ignored): this resets the ones ShardFlow uses
/// and blocks SIGTERM and SIGINT, which a ``SignalWaiter`` thread then receives.
public func prepareSignalHandling() {
    var signals = sigset_t()
    sigemptyset(&signals)
    for signalNumber in [SIGCHLD, SIGPIPE, SIGHUP] { sigaddset(&signals, signalNumber) }
    pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    signal(SIGTERM, SIG_DFL)
    signal(SIGINT, SIG_DFL)
    signal(SIGCHLD, SIG_DFL)
    SignalWaiter.blockTerminationSignals()
}
