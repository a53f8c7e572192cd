import NIOCore
import NIOPosix

/// A ``BlockingExecutor`` with one dedicated thread: work runs one piece at a time, in order.
struct ThreadExecutor: BlockingExecutor {
    let eventLoop: EventLoop
    private let pool: NIOThreadPool

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        self.pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) -> EventLoopFuture<Value> {
        pool.runIfActive(eventLoop: eventLoop, work)
    }
}
