import NIOCore

/// Processes the items a reducer receives, one batch at a time.
///
/// The reducer calls ``process(_:)`` on a dedicated thread (not on its I/O event loop), so an
/// implementation may block, do CPU work or call out synchronously — unless it declares
/// ``isNonBlocking``. Batches arrive one after another, never concurrently, in the order their
/// items reached the reducer; items with the same key are always in the same reducer.
///
/// Return which items failed; throwing fails the whole batch. Failed items are retried with
/// backoff, then dead-lettered or reported failed to their worker, per the reducer's options.
public protocol BatchProcessor: AnyObject {
    func process(_ items: [ProcessorItem]) throws -> BatchResult
    /// Called once when the reducer stops (flush and release resources).
    func close() throws
    /// True for a processor that never blocks and needs microseconds per batch (`discard`, an
    /// in-memory count): the reducer then calls ``process(_:)`` on its I/O event loop, which
    /// saves two thread hand-offs per batch — CPU, and at low load most of an item's latency
    /// inside the reducer — but a slow batch then holds up the reducer's connections for as
    /// long as it runs, no stuck-batch warning can be logged meanwhile, and under systemd a batch
    /// longer than the watchdog period gets the reducer restarted. Default: false.
    var isNonBlocking: Bool { get }
    /// Times the processor had to start over (an `exec:` child killed or dead and started
    /// again); read from another thread, for metrics.
    var restarts: Int { get }
}

extension BatchProcessor {
    public func close() throws {}
    public var restarts: Int { 0 }
    public var isNonBlocking: Bool { false }
}
