import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Reaps every child of the launcher on a dedicated thread (`wait4(-1)`) and reports each exit
/// with its resource use. The launcher starts all its children itself, so nothing else waits.
final class ChildReaper: @unchecked Sendable {
    typealias Handler = @Sendable (pid_t, ChildProcess.Termination, ChildProcess.Usage) -> Void

    private let handler: Handler
    private let stopped = NIOLockedValueBox(false)

    init(handler: @escaping Handler) {
        self.handler = handler
    }

    func start() {
        let thread = ThreadBox(self)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        var id = pthread_t()
        let box = Unmanaged.passRetained(thread).toOpaque()
        pthread_create(&id, &attributes, { raw in
            let reaper = Unmanaged<ThreadBox>.fromOpaque(raw!).takeRetainedValue().reaper
            reaper.loop()
            return nil
        }, box)
        pthread_detach(id)
    }

    func stop() {
        stopped.withLockedValue { $0 = true }
    }

    private func loop() {
        while !stopped.withLockedValue({ $0 }) {
            var status: Int32 = 0
            var usage = rusage()
            let pid = wait4(-1, &status, 0, &usage)
            if pid > 0 {
                handler(pid, ChildProcess.Termination(status: status), ChildProcess.usage(usage))
            } else if errno == ECHILD {
                usleep(20_000)  // no children right now
            }
        }
    }

    private final class ThreadBox {
        let reaper: ChildReaper
        init(_ reaper: ChildReaper) { self.reaper = reaper }
    }
}
