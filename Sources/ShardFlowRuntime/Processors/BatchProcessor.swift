import NIOCore

/// Processes the items a reducer receives, one batch at a time.
///
/// The reducer calls ``process(_:)`` on a dedicated thread (never on its I/O event loop), so an
/// implementation may block, do CPU work or call out synchronously. Batches arrive one after
/// another, never concurrently, in the order their items reached the reducer; items with the
/// same key are always in the same reducer.
///
/// Return which items failed; throwing fails the whole batch. Failed items are retried with
/// backoff, then dead-lettered or reported failed to their worker, per the reducer's options.
public protocol BatchProcessor: AnyObject {
    func process(_ items: [ProcessorItem]) throws -> BatchResult
    /// Called once when the reducer stops (flush and release resources).
    func close() throws
    /// Times the processor had to start over (an `exec:` child killed or dead and started
    /// again); read from another thread, for metrics.
    var restarts: Int { get }
}

extension BatchProcessor {
    public func close() throws {}
    public var restarts: Int { 0 }
}
