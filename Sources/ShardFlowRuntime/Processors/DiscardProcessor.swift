/// `discard`: acknowledges every item at once (benchmarks, dry runs). It runs on the reducer's
/// event loop (``isNonBlocking``).
public final class DiscardProcessor: BatchProcessor {
    public init() {}

    public var isNonBlocking: Bool { true }

    public func process(_ items: [ProcessorItem]) throws -> BatchResult { .success }
}
