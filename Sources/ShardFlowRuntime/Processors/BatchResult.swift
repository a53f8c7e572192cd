/// Which items of a batch failed, by position in the batch, and why.
public struct BatchResult: Sendable, Hashable {
    public var failures: [Int: String]

    public init(failures: [Int: String] = [:]) {
        self.failures = failures
    }

    /// Every item succeeded.
    public static let success = BatchResult()
}
