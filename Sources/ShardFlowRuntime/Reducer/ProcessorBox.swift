/// Hands a processor to the processor thread (it is only ever used there, one call at a time).
final class ProcessorBox: @unchecked Sendable {
    let value: BatchProcessor
    init(_ value: BatchProcessor) { self.value = value }
}
