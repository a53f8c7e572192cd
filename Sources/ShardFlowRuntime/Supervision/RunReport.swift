import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The launcher's progress lines and final summary (on stdout; logs go to stderr), and the
/// optional `--stats-json` file the benchmark reads.
final class RunReport: @unchecked Sendable {
    struct Snapshot {
        var recordsRead = 0
        var recordsDelivered = 0
        var items = 0
        var itemsFailed = 0
        var itemsDeadLettered = 0
        var itemsExpired = 0
        var itemsFiltered = 0
        var itemsRetried = 0
        /// Shards whose oldest incomplete record has waited past `--stuck-after`.
        var stuck: [GroupStatus.ShardRow] = []
        /// Every shard as its worker last described it.
        var shardFigures: [GroupStatus.ShardRow] = []
        var incomplete = 0
        /// Shards of all local streams.
        var shards = 0
        /// Each local stream's checkpoints and reading summary.
        var streams: [Stream] = []
        var processes: [(name: String, usage: ResourceUse)] = []
        var workers: (count: Int, usage: ResourceUse) = (0, ResourceUse())
        /// Shards whose worker last reported records not complete, with how many.
        var incompleteShards: [(shard: String, records: Int)] = []
        /// Sampled items' latency, from a worker receiving the record to its acknowledgement.
        var latency = LatencyHistogram()
        /// Peak PSS of each named process, and of the sum over every process of the run.
        var peakProportional: [String: Int] = [:]
        var peakProportionalSum = 0

        struct Stream {
            var name: String
            var checkpointsPath: String
            var checkpoints: [String: Checkpoint]
            var source: SourcePump.Summary
            var shardsEnded: Int { checkpoints.values.filter { $0 == .shardEnd }.count }
        }

        var shardsEnded: Int { streams.reduce(0) { $0 + $1.shardsEnded } }
        var checkpointCount: Int { streams.reduce(0) { $0 + $1.checkpoints.count } }
    }

    private let configuration: LaunchConfiguration
    private let runtime: RuntimeDirectory
    private let stateDirectory: String
    private(set) var started = false
    private var startTime = NIODeadline.now()
    /// When the launcher process was created (so its own start-up and checks count): the wall
    /// time "from launch to exit" and the CPU use over it count from here.
    private let launchTime = NIODeadline.now() - .nanoseconds(Int64((ProcessAge.seconds() ?? 0) * 1e9))
    private var last: (time: NIODeadline, delivered: Int, items: Int)?

    init(configuration: LaunchConfiguration, runtime: RuntimeDirectory, stateDirectory: String) {
        self.configuration = configuration
        self.runtime = runtime
        self.stateDirectory = stateDirectory
    }

    func start() {
        started = true
        startTime = .now()
        last = (startTime, 0, 0)
    }

    /// When the source completed: every shard ended with every item acknowledged.
    private var completedTime: NIODeadline?

    private var elapsed: Double { Double((NIODeadline.now() - startTime).nanoseconds) / 1e9 }

    /// The source completed; the group's shutdown follows.
    func sourceCompleted() {
        completedTime = .now()
    }

    /// Seconds from the source's start to its completion (or to now, when it did not complete).
    private var processingSeconds: Double {
        max(Double(((completedTime ?? .now()) - startTime).nanoseconds) / 1e9, 0.001)
    }

    func progress(_ snapshot: Snapshot) {
        let now = NIODeadline.now()
        let previous = last ?? (startTime, 0, 0)
        let seconds = max(Double((now - previous.time).nanoseconds) / 1e9, 0.001)
        last = (now, snapshot.recordsDelivered, snapshot.items)
        let recordRate = Double(snapshot.recordsDelivered - previous.delivered) / seconds
        let itemRate = Double(snapshot.items - previous.items) / seconds
        let shardText = configuration.hasLocalSource ? "  shards ended \(snapshot.shardsEnded)/\(snapshot.shards)" : ""
        let time = elapsed.fixed(1)
        emit("[\(String(repeating: " ", count: max(0, 6 - time.count)))\(time)s] records \(count(snapshot.recordsDelivered)) (\(count(Int(recordRate)))/s)  items \(count(snapshot.items)) (\(count(Int(itemRate)))/s)  incomplete \(count(snapshot.incomplete))  checkpoints \(snapshot.checkpointCount)\(shardText)\(stuckText(snapshot))")
    }

    /// "  stuck: shardId-… record 4959… for 45s (attempt 7: boom)" for the longest-waiting shard.
    private func stuckText(_ snapshot: Snapshot) -> String {
        guard let worst = snapshot.stuck.max(by: { ($0.oldestAgeSeconds ?? 0) < ($1.oldestAgeSeconds ?? 0) }),
              let sequence = worst.stuckSequenceNumber
        else { return "" }
        let shard = worst.stream.isEmpty || configuration.sources.count < 2 ? worst.shard : "\(worst.stream)/\(worst.shard)"
        var text = "  stuck: \(shard) record \(sequence) for \(Int(worst.oldestAgeSeconds ?? 0))s"
        if let attempts = worst.attempts { text += " (attempt \(attempts)" + (worst.lastError.map { ": \($0)" } ?? "") + ")" }
        if snapshot.stuck.count > 1 { text += " and \(snapshot.stuck.count - 1) more shards" }
        return text
    }

    func printWorkerCommand(_ command: [String]) {
        emit("""
            ShardFlow group ready (sockets in \(runtime.path)).
            Start one worker per shard, as a MultiLangDaemon child or from a test harness:
              \(command.joined(separator: " "))
            In a KCL properties file:
              executableName = \(command.joined(separator: " "))
            Ctrl-C stops the group.
            """)
    }

    /// Prints the summary and writes `--stats-json`; returns an error message when the stats
    /// file could not be written.
    func summary(_ snapshot: Snapshot, code: Int32) -> String? {
        let seconds = max(elapsed, 0.001)
        let wall = max(Double((NIODeadline.now() - launchTime).nanoseconds) / 1e9, 0.001)
        let cpu = snapshot.processes.reduce(snapshot.workers.usage.cpuSeconds) { $0 + $1.usage.cpuSeconds } + Self.ownCPU()
        let peakSum = snapshot.processes.reduce(snapshot.workers.usage.maximumResidentBytes) { $0 + $1.usage.maximumResidentBytes } + Self.ownPeak()
        var lines = ["", "ShardFlow run summary"]
        for stream in configuration.sources {
            let label = configuration.sources.count == 1 ? "source      " : "stream      "
            lines.append("  \(label) \(stream)\(stream.isLocal ? " (\(configuration.shards.counted("shard")))" : "")")
        }
        if configuration.sources.isEmpty { lines.append("  source       none (workers started by someone else)") }
        if configuration.hasLocalSource {
            let skipped = snapshot.streams.reduce(0) { $0 + $1.source.skippedBehindCheckpoint }
            var recordLine = "  records      \(count(snapshot.recordsDelivered)) delivered to workers"
            if skipped > 0 { recordLine += ", \(count(skipped)) skipped (already checkpointed)" }
            lines.append(recordLine)
            for stream in snapshot.streams where !stream.source.invalidLines.isEmpty {
                let invalid = stream.source.invalidLines
                let numbers = invalid.prefix(10).map { String($0.line) }.joined(separator: ", ") + (invalid.count > 10 ? ", …" : "")
                let of = snapshot.streams.count > 1 ? " of stream \(stream.name)" : ""
                lines.append("  invalid      \(invalid.count) input lines\(of) rejected (lines \(numbers))")
            }
        }
        var itemLine = "  items        \(count(snapshot.items)) processed by \(configuration.reducers.counted("reducer")) (\(snapshot.itemsFailed) failed, \(snapshot.itemsRetried) retried, \(snapshot.itemsDeadLettered) dead-lettered"
        if snapshot.itemsExpired > 0 { itemLine += " of which \(snapshot.itemsExpired) expired" }
        itemLine += ")"
        if !configuration.filters.isEmpty { itemLine += "; \(count(snapshot.itemsFiltered)) filtered out by --filter" }
        lines.append(itemLine)
        // Rates count the processing: from the source's start until every shard ended with every
        // item acknowledged. Stopping the processes afterwards is shown apart.
        let processing = processingSeconds
        var timeLine = "  time         \(processing.fixed(2)) s: \(count(Int(Double(snapshot.recordsDelivered) / processing))) records/s, \(count(Int(Double(snapshot.items) / processing))) items/s"
        if completedTime != nil { timeLine += " (then \((seconds - processing).fixed(2)) s to stop the group)" }
        lines.append(timeLine)
        for stream in snapshot.streams {
            lines.append("  checkpoints  \(stream.checkpointsPath): \(stream.shardsEnded) of \(configuration.shards.counted("shard")) at SHARD_END")
        }
        if !snapshot.incompleteShards.isEmpty, code != ExitStatus.completed, code != ExitStatus.invalidInput {
            let list = snapshot.incompleteShards.prefix(20).map { "\($0.shard) (\(count($0.records)))" }.joined(separator: ", ")
            lines.append("  incomplete   \(snapshot.incompleteShards.count) shards stopped with records not processed: \(list)\(snapshot.incompleteShards.count > 20 ? ", …" : ""); they were not checkpointed past them, and the next run processes them again")
        }
        lines.append("  output       \(outputDescription)")
        if let p50 = snapshot.latency.percentile(0.5), let p99 = snapshot.latency.percentile(0.99), let p999 = snapshot.latency.percentile(0.999) {
            lines.append("  latency      p50 \(Self.milliseconds(p50)), p99 \(Self.milliseconds(p99)), p99.9 \(Self.milliseconds(p999)), max \(Self.milliseconds(snapshot.latency.maximum)) (\(count(snapshot.latency.count)) sampled items, from the worker receiving the record to the acknowledgement)")
        }
        var resources = "  resources    CPU \(cpu.fixed(2)) s (\((cpu / wall * 100).fixed(0))% of one core over \(wall.fixed(2)) s from launch to exit), peak memory \(bytes(peakSum)) (sum of per-process peaks)"
        if snapshot.peakProportionalSum > 0 { resources += "; \(bytes(snapshot.peakProportionalSum)) PSS at the peak (all processes together, shared pages counted once)" }
        lines.append(resources)
        var perProcess = snapshot.processes.map { process in
            "\(process.name) \(process.usage.cpuSeconds.fixed(2))s/\(bytes(process.usage.maximumResidentBytes))"
                + (snapshot.peakProportional[process.name].map { " (PSS \(bytes($0)))" } ?? "")
        }
        perProcess.append("workers(\(snapshot.workers.count)) \(snapshot.workers.usage.cpuSeconds.fixed(2))s/\(bytes(snapshot.workers.usage.maximumResidentBytes)) max")
        perProcess.append("launcher \(Self.ownCPU().fixed(2))s/\(bytes(Self.ownPeak()))" + (snapshot.peakProportional["launcher"].map { " (PSS \(bytes($0)))" } ?? ""))
        lines.append("  processes    " + perProcess.joined(separator: ", "))
        lines.append("  status       \(Self.describe(code))")
        emit(lines.joined(separator: "\n"))
        if let path = configuration.statsPath {
            do {
                try writeStats(to: path, snapshot: snapshot, seconds: wall, cpu: cpu, peakSum: peakSum, code: code)
            } catch {
                return "cannot write --stats-json \(path): \(error)"
            }
        }
        return nil
    }

    /// Nanoseconds as milliseconds for the summary: `0.42 ms`, `12.3 ms`, `1,204 ms`.
    static func milliseconds(_ nanoseconds: Int64) -> String {
        let value = Double(nanoseconds) / 1e6
        return value < 10 ? "\(value.fixed(2)) ms" : value < 100 ? "\(value.fixed(1)) ms" : "\(Int(value)) ms"
    }

    private var outputDescription: String {
        switch configuration.processor {
        case .jsonLines(let directory): "\(directory)/reducer-<i>.jsonl (one JSON object per item)"
        case .discard: "discarded (--processor discard)"
        case .spin(let micros): "discarded after \(micros) µs of CPU work per item (--processor spin)"
        case .exec(let command): "handed to exec:\(command)"
        }
    }

    private func writeStats(to path: String, snapshot: Snapshot, seconds: Double, cpu: Double, peakSum: Int, code: Int32) throws {
        var json = JSONWriter(buffer: ByteBuffer())
        json.beginObject()
        json.key("source"); json.string(configuration.sources.map(\.description).joined(separator: " "))
        json.key("streams"); json.integer(configuration.sources.count)
        json.key("shards"); json.integer(configuration.shards)
        json.key("routers"); json.integer(configuration.routers)
        json.key("mappers"); json.integer(configuration.mappers)
        json.key("reducers"); json.integer(configuration.reducers)
        json.key("records"); json.integer(snapshot.recordsDelivered)
        json.key("items"); json.integer(snapshot.items)
        json.key("itemsFailed"); json.integer(snapshot.itemsFailed)
        json.key("itemsRetried"); json.integer(snapshot.itemsRetried)
        json.key("itemsDeadLettered"); json.integer(snapshot.itemsDeadLettered)
        json.key("itemsExpired"); json.integer(snapshot.itemsExpired)
        json.key("itemsFiltered"); json.integer(snapshot.itemsFiltered)
        json.key("invalidLines"); json.integer(snapshot.streams.reduce(0) { $0 + $1.source.invalidLines.count })
        json.key("seconds"); json.number(text: processingSeconds.fixed(4))
        json.key("totalSeconds"); json.number(text: seconds.fixed(4))
        json.key("cpuSeconds"); json.number(text: cpu.fixed(4))
        json.key("peakResidentBytesSum"); json.integer(peakSum)
        json.key("peakProportionalBytesSum"); json.integer(snapshot.peakProportionalSum)
        if let p50 = snapshot.latency.percentile(0.5) {
            json.key("latency")
            json.beginObject()
            json.key("samples"); json.integer(snapshot.latency.count)
            json.key("p50Ms"); json.number(text: (Double(p50) / 1e6).fixed(4))
            json.key("p99Ms"); json.number(text: (Double(snapshot.latency.percentile(0.99)!) / 1e6).fixed(4))
            json.key("p999Ms"); json.number(text: (Double(snapshot.latency.percentile(0.999)!) / 1e6).fixed(4))
            json.key("maxMs"); json.number(text: (Double(snapshot.latency.maximum) / 1e6).fixed(4))
            json.endObject()
        }
        json.key("shardsEnded"); json.integer(snapshot.shardsEnded)
        json.key("exitStatus"); json.integer(code)
        json.key("shardFigures")
        json.beginArray()
        for shard in shardFigures(snapshot) {
            json.beginObject()
            json.key("stream"); json.string(shard.stream)
            json.key("shard"); json.string(shard.shard)
            json.key("checkpoint"); json.optionalString(shard.checkpoint)
            json.key("received"); json.optionalInteger(shard.figures?.received)
            json.key("completed"); json.optionalInteger(shard.figures?.completed)
            json.key("incomplete"); json.optionalInteger(shard.figures?.incomplete)
            json.key("millisBehindLatest"); json.optionalInteger(shard.figures?.millisBehindLatest)
            json.endObject()
        }
        json.endArray()
        json.key("processes")
        json.beginArray()
        var launcher = ResourceUse()
        launcher.userSeconds = Self.ownCPU()
        launcher.maximumResidentBytes = Self.ownPeak()
        for (name, usage) in snapshot.processes + [("workers", snapshot.workers.usage), ("launcher", launcher)] {
            json.beginObject()
            json.key("name"); json.string(name)
            json.key("cpuSeconds"); json.number(text: usage.cpuSeconds.fixed(4))
            json.key("peakResidentBytes"); json.integer(usage.maximumResidentBytes)
            json.key("peakProportionalBytes"); json.optionalInteger(snapshot.peakProportional[name])
            json.endObject()
        }
        json.endArray()
        json.endObject()
        json.endLine()
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try CheckpointStore.writeAtomically(json.buffer, to: path, directory: directory.isEmpty ? "/" : directory)
    }

    /// Every shard known at the end: its stored checkpoint (local sources) and the figures its
    /// worker last gave (`received` and `completed` count from the worker's start).
    private func shardFigures(_ snapshot: Snapshot) -> [(stream: String, shard: String, checkpoint: String?, figures: GroupStatus.ShardRow?)] {
        var rows: [String: (stream: String, shard: String, checkpoint: String?, figures: GroupStatus.ShardRow?)] = [:]
        for stream in snapshot.streams {
            for (shard, checkpoint) in stream.checkpoints {
                rows["\(stream.name)/\(shard)"] = (stream.name, shard, checkpoint.sequenceNumberText, nil)
            }
        }
        for figures in snapshot.shardFigures {
            let key = "\(figures.stream)/\(figures.shard)"
            rows[key] = (figures.stream, figures.shard, rows[key]?.checkpoint ?? figures.lastCheckpoint, figures)
        }
        return rows.values.sorted { ($0.stream, $0.shard) < ($1.stream, $1.shard) }
    }

    static func describe(_ code: Int32) -> String {
        switch code {
        case ExitStatus.completed: "completed: every shard ended and every item was acknowledged (exit 0)"
        case ExitStatus.invalidInput: "completed, but some input lines were invalid and skipped (exit 3)"
        case ExitStatus.drainTimedOut: "stopped at the drain deadline (--drain-timeout): processes were killed and some records were not processed; rerun the same command to resume from the checkpoints (exit 4)"
        case ExitStatus.interrupted: "stopped by SIGINT; rerun the same command to resume from the checkpoints (exit 130)"
        case ExitStatus.terminated: "stopped by SIGTERM; rerun the same command to resume from the checkpoints (exit 143)"
        default: "failed (exit \(code)); see the errors above"
        }
    }

    /// Writes a block of text to stdout at once (unbuffered, so it interleaves sanely with the
    /// children's stderr lines).
    private func emit(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        bytes.withUnsafeMutableBytes { try? writeAll(1, UnsafeRawBufferPointer($0)) }
    }

    private func count(_ value: Int) -> String {
        let text = String(value)
        var result = ""
        for (offset, character) in text.enumerated() {
            if offset > 0, (text.count - offset) % 3 == 0, character != "-" { result.append(",") }
            result.append(character)
        }
        return result
    }

    private func bytes(_ value: Int) -> String {
        if value >= 1 << 30 { return (Double(value) / Double(1 << 30)).fixed(1) + " GiB" }
        return (Double(value) / Double(1 << 20)).fixed(0) + " MiB"
    }

    static func ownCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return ChildProcess.usage(usage).userSeconds + ChildProcess.usage(usage).systemSeconds
    }

    static func ownPeak() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}
