import CoreMetrics
import NIOConcurrencyHelpers
import Prometheus

#if canImport(Glibc)
import Glibc
#endif

/// One process's metrics: made through the swift-metrics API on a swift-prometheus registry of
/// the process's own, rendered on request (the control socket's `metrics`). Figures a state
/// machine already counts are copied in just before rendering (``onScrape(_:)``), so the hot
/// paths pay nothing for them; histograms are recorded as events happen.
///
/// Every process also exports its own `shardflow_process_*` figures: CPU time, resident and
/// proportional memory, start time.
public final class ProcessMetrics: @unchecked Sendable {
    /// The `process` label: `router-0`, `reducer-2`, `worker-<stream>-<shard>`, …
    public let process: String
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let refreshers = NIOLockedValueBox<[@Sendable () -> Void]>([])
    private let cpu: SyncedCounter
    private let resident: CoreMetrics.Gauge
    private let proportional: CoreMetrics.Gauge

    /// Histogram buckets, in seconds: item latency (0.25 ms … 60 s) and batch time (0.1 ms … 60 s).
    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]
    static let batchBuckets: [Duration] = [
        .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    public init(process: String) {
        self.process = process
        self.registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            MetricDefinition.itemLatency.name: Self.latencyBuckets,
            MetricDefinition.reducerBatchDuration.name: Self.batchBuckets,
        ]
        self.factory = factory
        let labels = [("process", process)]
        cpu = SyncedCounter(CoreMetrics.FloatingPointCounter(label: MetricDefinition.processCPU.name, dimensions: labels, factory: factory))
        resident = CoreMetrics.Gauge(label: MetricDefinition.processResident.name, dimensions: labels, factory: factory)
        proportional = CoreMetrics.Gauge(label: MetricDefinition.processProportional.name, dimensions: labels, factory: factory)
        CoreMetrics.Gauge(label: MetricDefinition.processStartTime.name, dimensions: labels, factory: factory).record(ProcessStatus.startTime)
    }

    // MARK: Making metrics

    public func counter(_ definition: MetricDefinition, _ labels: [(String, String)]) -> SyncedCounter {
        precondition(definition.kind == .counter, "\(definition.name) is not a counter")
        return SyncedCounter(CoreMetrics.FloatingPointCounter(label: definition.name, dimensions: labels, factory: factory))
    }

    public func gauge(_ definition: MetricDefinition, _ labels: [(String, String)]) -> CoreMetrics.Gauge {
        precondition(definition.kind == .gauge, "\(definition.name) is not a gauge")
        return CoreMetrics.Gauge(label: definition.name, dimensions: labels, factory: factory)
    }

    public func histogram(_ definition: MetricDefinition, _ labels: [(String, String)]) -> CoreMetrics.Timer {
        precondition(definition.kind == .histogram, "\(definition.name) is not a histogram")
        return CoreMetrics.Timer(label: definition.name, dimensions: labels, factory: factory)
    }

    /// Runs `body` before every rendering (on the thread that renders: the process's event loop).
    public func onScrape(_ body: @escaping @Sendable () -> Void) {
        refreshers.withLockedValue { $0.append(body) }
    }

    // MARK: Rendering

    /// The process's exposition, with fresh figures.
    public func exposition() -> String {
        for refresh in refreshers.withLockedValue({ $0 }) { refresh() }
        let usage = Self.usage()
        cpu.set(total: usage.cpuSeconds)
        resident.record(Double(usage.residentBytes))
        proportional.record(Double(usage.proportionalBytes))
        return registry.emitToString()
    }

    /// This process's CPU time and memory, read from the kernel.
    public static func usage() -> (cpuSeconds: Double, residentBytes: Int, proportionalBytes: Int) {
        var rusage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &rusage)
        let cpu = Double(rusage.ru_utime.tv_sec + rusage.ru_stime.tv_sec) + Double(rusage.ru_utime.tv_usec + rusage.ru_stime.tv_usec) / 1e6
        var resident = 0
        var proportional = 0
        if let text = try? CheckpointStore.readFile("/proc/self/smaps_rollup").map({ String(decoding: $0, as: UTF8.self) }) {
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 2, let kilobytes = Int(fields[1]) else { continue }
                if fields[0] == "Rss:" { resident = kilobytes * 1024 }
                if fields[0] == "Pss:" { proportional = kilobytes * 1024 }
            }
        }
        return (cpu, resident, proportional)
    }

    static func wallClock() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
