import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One run of the local source: a worker per unfinished shard, the reader thread, and the
/// daemon side of every shard's exchange. When any worker fails, the session ends the way the
/// Java daemon does (every worker stops) and the launcher starts a new session from the stored
/// checkpoints.
final class LocalSourceSession: @unchecked Sendable {
    enum Outcome {
        case completed(SourcePump.Summary)
        /// `counts`: whether the failure counts toward the restart limit (not when a worker was
        /// killed from outside).
        case failed(String, counts: Bool)
        case stopped
    }

    struct Settings {
        var source: SourceSpecification
        /// The stream's name, for messages.
        var stream: String
        var shards: Int
        var batchRecords: Int
        var workerArguments: [String]
        /// The file to start with `workerArguments` (nil: `workerArguments[0]`).
        var workerExecutable: String?
        var workerEnvironment: [String: String]
        var injectedCheckpointErrors: [CheckpointError]
    }

    private let settings: Settings
    private let eventLoop: EventLoop
    private let logger: Logger
    private let persist: (String, Checkpoint) throws -> Void
    private let onFinished: (Outcome) -> Void
    private var drivers: [Int: DaemonSessionDriver] = [:]
    private var livePids: [pid_t: DaemonSessionDriver] = [:]
    private var pump: SourcePump?
    private var pumpSummary: SourcePump.Summary?
    private var pumpDone = false
    private var failure: String?
    private var stopRequested = false
    private var killed = false
    private var failureCounts = true
    private var reported = false
    private(set) var shardsEnded = 0
    private(set) var activeShards = 0

    init(
        settings: Settings,
        eventLoop: EventLoop,
        logger: Logger,
        persist: @escaping (String, Checkpoint) throws -> Void,
        onFinished: @escaping (Outcome) -> Void
    ) {
        self.settings = settings
        self.eventLoop = eventLoop
        self.logger = logger
        self.persist = persist
        self.onFinished = onFinished
    }

    /// Records delivered to workers in this session.
    var recordsDelivered: Int { drivers.values.reduce(0) { $0 + $1.recordsDelivered } }
    /// Records read by the reader in this session.
    var recordsRead: Int { pump?.recordsRead ?? 0 }

    /// Starts a worker per unfinished shard, opens the source, then sends each worker
    /// `initialize` and starts reading.
    func start(checkpoints: [String: Checkpoint]) throws {
        if !isPrepared { try prepare(checkpoints: checkpoints) }
        try begin()
    }

    /// Whether ``prepare(checkpoints:)`` started the workers.
    private var isPrepared = false
    /// Whether ``begin()`` ran: the exchange with the workers and the reading are under way.
    private(set) var hasBegun = false
    /// Whether a worker failed (before ``begin()``: such a session is dropped, not begun).
    var hasFailed: Bool { failure != nil }
    /// Where each shard resumes, from the checkpoints given to ``prepare(checkpoints:)``.
    private var resume: [Checkpoint?] = []

    /// Starts a worker per unfinished shard, which waits for `initialize`: the launcher does
    /// this while the rest of the group starts, so a worker's own start-up (about 10 ms of CPU)
    /// is not spent after the group is ready. The source is not opened, nothing is read and
    /// nothing reported until ``begin()``. Throws when a worker cannot be started (those started
    /// so far are killed).
    func prepare(checkpoints: [String: Checkpoint]) throws {
        precondition(!isPrepared, "prepared twice")
        resume = (0..<settings.shards).map { checkpoints[DaemonSessionDriver.shardId($0)] }
        for shard in 0..<settings.shards where resume[shard] != .shardEnd {
            let driver = DaemonSessionDriver(
                index: shard, checkpoint: resume[shard], eventLoop: eventLoop, logger: logger,
                callbacks: .init(
                    persist: persist,
                    batchConsumed: { [unowned self] shard in self.pump?.batchConsumed(shard: shard) },
                    finished: { [unowned self] driver in self.driverFinished(driver) },
                    failed: { [unowned self] driver, reason, counts in self.driverFailed(driver, reason, counts: counts) }
                ))
            if !settings.injectedCheckpointErrors.isEmpty { driver.injectCheckpointErrors(settings.injectedCheckpointErrors) }
            drivers[shard] = driver
        }
        activeShards = drivers.count
        for driver in drivers.values.sorted(by: { $0.index < $1.index }) {
            do {
                try driver.spawn(arguments: settings.workerArguments, executable: settings.workerExecutable, environment: settings.workerEnvironment)
                livePids[driver.child!.pid] = driver
            } catch {
                // Nothing was reported yet: the caller decides what the failure means.
                kill()
                throw ConfigurationError("cannot start the worker for \(driver.shardId): \(error)")
            }
        }
        isPrepared = true
    }

    /// Opens the source, sends every prepared worker `initialize` and starts reading. Throws
    /// when the source cannot be opened (the workers are killed; nothing was reported).
    func begin() throws {
        precondition(isPrepared && !hasBegun, "begin() needs a prepared session, once")
        let source: RecordSource
        do {
            switch settings.source {
            case .file(let path): source = try FileRecordSource(path: path)
            case .generate(let count, let size, let keys, _): source = GeneratedRecordSource(count: count, size: size, keys: keys)
            case .kcl, .none: preconditionFailure("not a local source")
            }
        } catch {
            kill()
            throw error
        }
        hasBegun = true
        guard !drivers.isEmpty else {
            logger.notice("every shard is already at SHARD_END in the stored checkpoints; nothing to do (use --reset to process the source again)")
            pumpDone = true
            pumpSummary = SourcePump.Summary()
            finishIfDone()
            return
        }
        var pumpConfiguration = SourcePump.Configuration(shardCount: settings.shards, resumeAfter: resume)
        pumpConfiguration.batchRecords = settings.batchRecords
        if case .generate(_, _, _, let rate?) = settings.source { pumpConfiguration.rate = rate }
        let pump = SourcePump(source: source, configuration: pumpConfiguration)
        self.pump = pump
        let location = source.location
        let logger = self.logger
        pump.deliver = { [eventLoop] shard, batch in
            eventLoop.execute { self.drivers[shard]?.enqueue(batch) }
        }
        pump.invalidLine = { line, reason in
            logger.error("\(location):\(line): \(reason); this line is skipped, every other line is processed")
        }
        pump.finished = { [eventLoop] result in
            eventLoop.execute { self.pumpFinished(result) }
        }
        for driver in drivers.values { driver.begin() }
        pump.start()
    }

    /// Graceful stop: every worker gets `shutdownRequested` and exits.
    func requestStop() {
        stopRequested = true
        pump?.cancel()
        for driver in drivers.values { driver.requestStop() }
        finishIfDone()
    }

    /// Stops every worker at once (the run is being abandoned, or its drain deadline passed).
    func kill() {
        killed = true
        pump?.cancel()
        for driver in livePids.values { driver.kill() }
    }

    /// Routes a reaped child to its driver; false when it is not one of this session's workers.
    func childExited(pid: pid_t, termination: ChildProcess.Termination) -> Bool {
        guard let driver = livePids.removeValue(forKey: pid) else { return false }
        driver.childExited(termination)
        finishIfDone()
        return true
    }

    /// Whether `pid` is one of this session's live workers.
    func owns(pid: pid_t) -> Bool { livePids[pid] != nil }

    /// The pids of this session's live workers.
    var workerPids: [pid_t] { Array(livePids.keys) }

    private func pumpFinished(_ result: Result<SourcePump.Summary, Error>) {
        pumpDone = true
        switch result {
        case .success(let summary):
            pumpSummary = summary
            for driver in drivers.values { driver.inputEnded() }
        case .failure(is CancellationError):
            break
        case .failure(let error):
            driverFailed(nil, "reading \(settings.source) (stream \(settings.stream)) failed: \(error)", counts: true)
        }
        finishIfDone()
    }

    private func driverFinished(_ driver: DaemonSessionDriver) {
        if driver.ended { shardsEnded += 1 }
        finishIfDone()
    }

    private func driverFailed(_ driver: DaemonSessionDriver?, _ reason: String, counts: Bool) {
        guard failure == nil else { return }
        failure = reason
        failureCounts = counts
        if killed {
            logger.debug("\(reason) (stopped by the launcher)")
        } else if !hasBegun {
            logger.warning("\(reason); its workers start afresh when the source does")
        } else {
            logger.error("\(reason); stopping every worker, as the MultiLangDaemon would")
        }
        pump?.cancel()
        for other in drivers.values { other.kill() }
        finishIfDone()
    }

    private func finishIfDone() {
        guard hasBegun, !reported, livePids.isEmpty, pumpDone || failure != nil || stopRequested else { return }
        if failure == nil, !stopRequested, shardsEnded < drivers.count { return }
        reported = true
        if let failure {
            onFinished(.failed(failure, counts: failureCounts))
        } else if stopRequested && shardsEnded < drivers.count {
            onFinished(.stopped)
        } else {
            onFinished(.completed(pumpSummary ?? SourcePump.Summary()))
        }
    }
}
