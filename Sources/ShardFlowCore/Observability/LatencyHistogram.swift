/// A log-linear histogram of durations in nanoseconds, precise to about 3 % (32 sub-buckets per
/// power of two), for percentiles of item latency. Small and mergeable: a worker records its
/// shard's items, sends ``encoded`` when it ends, and the launcher merges every worker's.
public struct LatencyHistogram: Sendable, Hashable {
    static let subBuckets = 32
    /// Bucket → count (only buckets that were hit).
    public private(set) var counts: [Int: Int] = [:]
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
        counts[Self.bucket(of: nanoseconds), default: 0] += 1
        count += 1
        maximum = max(maximum, nanoseconds)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for (bucket, count) in other.counts { counts[bucket, default: 0] += count }
        count += other.count
        maximum = max(maximum, other.maximum)
    }

    /// The value below which `fraction` (0…1) of the recorded values lie, as the upper bound of
    /// its bucket (never above the largest value recorded); nil when nothing was recorded.
    public func percentile(_ fraction: Double) -> Int64? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for bucket in counts.keys.sorted() {
            seen += counts[bucket]!
            if seen >= rank { return min(Self.upperBound(of: bucket), maximum) }
        }
        return maximum
    }

    /// `bucket:count,…` with the maximum first (`max:N,`).
    public var encoded: String {
        (["max:\(maximum)"] + counts.keys.sorted().map { "\($0):\(counts[$0]!)" }).joined(separator: ",")
    }

    public init?(encoded text: String) {
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let value = Int64(parts[1]), value >= 0 else { return nil }
            if parts[0] == "max" {
                maximum = value
            } else {
                guard let bucket = Int(parts[0]), bucket >= 0, bucket < 64 * Self.subBuckets, value > 0 else { return nil }
                counts[bucket, default: 0] += Int(value)
                count += Int(value)
            }
        }
    }
}
