import NIOCore

/// Where a reducer runs its blocking work (the processor, the dead-letter sink): never on its
/// I/O event loop. Results come back on ``eventLoop``.
protocol BlockingExecutor: Sendable {
    var eventLoop: EventLoop { get }
    func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) -> EventLoopFuture<Value>
}
