/// `discard`: acknowledges every item at once (benchmarks, dry runs).
public final class DiscardProcessor: BatchProcessor {
    public init() {}

    public func process(_ items: [ProcessorItem]) throws -> BatchResult { .success }
}
