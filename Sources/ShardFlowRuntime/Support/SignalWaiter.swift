import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Delivers SIGTERM and SIGINT to a handler from a dedicated thread that waits for them with
/// `sigwait`, which works whatever the process inherited (signal dispositions and masks) and
/// needs no signal handler.
///
/// ``blockTerminationSignals()`` must run on the main thread before any other thread starts,
/// so every thread inherits the blocked mask and the signals wait for the waiter thread.
public enum SignalWaiter {
    /// Blocks SIGTERM and SIGINT in the calling thread (and every thread it creates later).
    public static func blockTerminationSignals() {
        var signals = terminationSignals
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Starts the waiter thread; `handler` runs on it for every SIGTERM or SIGINT.
    public static func start(_ handler: @escaping @Sendable (Int32) -> Void) {
        let box = Unmanaged.passRetained(HandlerBox(handler)).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { raw in
            let box = Unmanaged<HandlerBox>.fromOpaque(raw!).takeRetainedValue()
            var signals = SignalWaiter.terminationSignals
            while true {
                var received: Int32 = 0
                guard sigwait(&signals, &received) == 0 else { continue }
                box.handler(received)
            }
        }, box)
        pthread_detach(thread)
    }

    static var terminationSignals: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        return signals
    }

    private final class HandlerBox: @unchecked Sendable {
        let handler: @Sendable (Int32) -> Void
        init(_ handler: @escaping @Sendable (Int32) -> Void) { self.handler = handler }
    }
}
