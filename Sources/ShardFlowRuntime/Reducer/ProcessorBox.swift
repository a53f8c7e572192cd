/// Hands a processor to the processor thread, where it is used one call at a time (the batches of
/// a non-blocking processor run on the event loop instead).
final class ProcessorBox: @unchecked Sendable {
    let value: BatchProcessor
    init(_ value: BatchProcessor) { self.value = value }
}
