import Testing

@testable import ShardFlowCore

@Suite("Latency histogram")
struct LatencyHistogramTests {
    @Test("percentiles within 3 %, merged and round-tripped through the encoding")
    func percentiles() throws {
        var first = LatencyHistogram()
        var second = LatencyHistogram()
        // 1 µs … 10 ms, uniformly, in two halves.
        for value in stride(from: Int64(1_000), through: 10_000_000, by: 1_000) {
            if value % 2_000 == 0 { first.record(nanoseconds: value) } else { second.record(nanoseconds: value) }
        }
        var merged = first
        merged.merge(second)
        #expect(merged.count == 10_000)
        for (fraction, exact) in [(0.5, 5_000_000.0), (0.99, 9_900_000.0), (0.999, 9_990_000.0)] {
            let value = Double(try #require(merged.percentile(fraction)))
            #expect(abs(value - exact) / exact < 0.035, "p\(fraction * 100): \(value) vs \(exact)")
        }
        #expect(merged.percentile(1) == 10_000_000, "never above the largest value")
        let decoded = try #require(LatencyHistogram(encoded: merged.encoded))
        #expect(decoded == merged)
        #expect(LatencyHistogram().percentile(0.5) == nil)
        #expect(LatencyHistogram(encoded: "5:x") == nil && LatencyHistogram(encoded: "99999:1") == nil)
        // A report that would overflow is refused instead of trapping the launcher.
        #expect(LatencyHistogram(encoded: "max:1,5:9223372036854775807,6:1") == nil)
        #expect(LatencyHistogram(encoded: "max:1,5:1099511627776,6:1") == nil, "2^40 in all at the most")
    }

    @Test("every value lands in a bucket whose bounds contain it")
    func buckets() {
        for value: Int64 in [0, 1, 31, 32, 33, 63, 64, 1000, 1_000_000, 123_456_789, 60_000_000_000] {
            let bucket = LatencyHistogram.bucket(of: value)
            #expect(LatencyHistogram.upperBound(of: bucket) >= value)
            #expect(bucket == 0 || LatencyHistogram.upperBound(of: bucket - 1) < value, "\(value)")
        }
    }
}
