import CoreMetrics
import NIOConcurrencyHelpers

/// Gathers the metrics of every process of a group from their control sockets into one
/// exposition: what the scrape endpoint serves. A process that restarts only misses the scrapes
/// it is down for; the endpoint stays.
///
/// Besides every process's own metrics it exports, per process, `shardflow_process_up` (did it
/// answer) and `shardflow_process_restarts_total` — counted by the launcher under `shardflow
/// run`, or seen here as a new start time under systemd. Sockets left by workers that exited
/// are removed. Blocking: call from a thread that may wait, never an event loop.
public final class MetricsGatherer: @unchecked Sendable {
    public let controlDirectory: String
    private let allowedUIDs: Set<UInt32>
    private let own: ProcessMetrics
    /// Restart counts by process name, when someone knows them exactly (the launcher).
    private let knownRestarts: (@Sendable () -> [String: Int])?
    private let state = NIOLockedValueBox(State())

    private struct State {
        var up: [String: Gauge] = [:]
        var restarts: [String: SyncedCounter] = [:]
        var startTimes: [String: String] = [:]
        var observedRestarts: [String: Int] = [:]
    }

    public init(controlDirectory: String, allowedUIDs: Set<UInt32> = [], process: String,
                knownRestarts: (@Sendable () -> [String: Int])? = nil) {
        self.controlDirectory = controlDirectory
        self.allowedUIDs = allowedUIDs
        self.own = ProcessMetrics(process: process)
        self.knownRestarts = knownRestarts
    }

    /// One exposition of the whole group.
    public func gather() -> String {
        var merger = ExpositionMerger(help: MetricDefinition.helpByName)
        var answers: [(name: String, text: String?)] = []
        for socket in ControlClient.sockets(in: controlDirectory) {
            do {
                answers.append((socket.name, try ControlClient.ask(socket.path, "metrics", allowedUIDs: allowedUIDs)))
            } catch .gone where socket.name.hasPrefix("worker-") {
                unlink(socket.path)  // a worker that exited: its shard is elsewhere now
            } catch {
                answers.append((socket.name, nil))
            }
        }
        let known = knownRestarts?()
        state.withLockedValue { state in
            for (name, text) in answers {
                let process = text.flatMap(Self.processLabel) ?? name
                if state.up[process] == nil {
                    state.up[process] = own.gauge(.processUp, [("process", process)])
                    state.restarts[process] = own.counter(.processRestarts, [("process", process)])
                }
                state.up[process]!.record(text == nil ? 0 : 1)
                if let text, let started = Self.startTime(in: text) {
                    if let previous = state.startTimes[process], previous != started { state.observedRestarts[process, default: 0] += 1 }
                    state.startTimes[process] = started
                }
                state.restarts[process]!.set(total: known?[name] ?? state.observedRestarts[process] ?? 0)
            }
        }
        for (_, text) in answers { if let text { merger.add(text) } }
        merger.add(own.exposition())
        return merger.text()
    }

    /// The `process` label a process's exposition gives itself.
    static func processLabel(in text: String) -> String? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(MetricDefinition.processStartTime.name + "{process=\"") }),
              let start = line.firstIndex(of: "\""), let end = line[line.index(after: start)...].firstIndex(of: "\"")
        else { return nil }
        return String(line[line.index(after: start)..<end])
    }

    /// The value of `shardflow_process_start_time_seconds` in an exposition.
    static func startTime(in text: String) -> String? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(MetricDefinition.processStartTime.name + "{") }) else { return nil }
        return line.split(separator: " ").last.map(String.init)
    }
}

#if canImport(Glibc)
import Glibc
#endif
