/// A log-linear histogram of durations in nanoseconds, precise to about 3 % (32 sub-buckets per
/// power of two), for percentiles of item latency. Small and mergeable: a worker records its
/// shard's items, sends ``encoded`` when it ends, and the launcher merges every worker's.
public struct LatencyHistogram: Sendable, Hashable {
    static let subBuckets = 32
    /// Every bucket a 63-bit value can fall in.
    static let bucketCount = subBuckets + 59 * subBuckets
    /// Count per bucket (allocated at the first value).
    private var counts: [Int] = []
    public private(set) var count = 0
    public private(set) var maximum: Int64 = 0

    public init() {}

    /// The bucket of `value`: values below 32 ns each have their own; above, 32 buckets per
    /// power of two.
    static func bucket(of value: Int64) -> Int {
        let value = UInt64(max(value, 0))
        guard value >= UInt64(subBuckets) else { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount  // ≥ 5
        let shift = exponent - 5
        let mantissa = Int(value >> UInt64(shift)) - subBuckets  // 0..<32
        return subBuckets + shift * subBuckets + mantissa
    }

    /// The largest value of `bucket`.
    static func upperBound(of bucket: Int) -> Int64 {
        guard bucket >= subBuckets else { return Int64(bucket) }
        let shift = (bucket - subBuckets) / subBuckets
        let mantissa = (bucket - subBuckets) % subBuckets
        return Int64(((subBuckets + mantissa + 1) << shift) - 1)
    }

    public mutating func record(nanoseconds: Int64) {
        if counts.isEmpty { counts = Array(repeating: 0, count: Self.bucketCount) }
        counts[Self.bucket(of: nanoseconds)] += 1
        count += 1
        maximum = max(maximum, nanoseconds)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        if counts.isEmpty { counts = Array(repeating: 0, count: Self.bucketCount) }
        // Saturating: merged reports never trap, however many there are.
        for (bucket, count) in other.counts.enumerated() where count > 0 {
            counts[bucket] = Self.saturatingSum(counts[bucket], count)
        }
        count = Self.saturatingSum(count, other.count)
        maximum = max(maximum, other.maximum)
    }

    private static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    /// The value below which `fraction` (0…1) of the recorded values lie, as the upper bound of
    /// its bucket (never above the largest value recorded); nil when nothing was recorded.
    public func percentile(_ fraction: Double) -> Int64? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (bucket, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= rank { return min(Self.upperBound(of: bucket), maximum) }
        }
        return maximum
    }

    /// `bucket:count,…` with the maximum first (`max:N,`).
    public var encoded: String {
        (["max:\(maximum)"] + counts.enumerated().filter { $0.element > 0 }.map { "\($0.offset):\($0.element)" }).joined(separator: ",")
    }

    public init?(encoded text: String) {
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let value = Int64(parts[1]), value >= 0 else { return nil }
            if parts[0] == "max" {
                maximum = value
            } else {
                // A count beyond 2^40 is not a real report (and could overflow a merge).
                guard let bucket = Int(parts[0]), bucket >= 0, bucket < Self.bucketCount, value > 0, value <= 1 << 40,
                      count + Int(value) <= 1 << 40 else { return nil }
                if counts.isEmpty { counts = Array(repeating: 0, count: Self.bucketCount) }
                counts[bucket] += Int(value)
                count += Int(value)
            }
        }
    }
}
