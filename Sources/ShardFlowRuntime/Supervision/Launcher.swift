import CSystemd
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// `shardflow run`: starts and supervises a whole group on one host — reducers and routers,
/// then mappers, then the sources (one per stream) — and on completion or SIGINT/SIGTERM
/// drains it in order.
/// What to do when is the ``SupervisorStateMachine``'s; this class performs its actions
/// (spawning, signalling, the source, the notify sockets, progress and the summary).
public final class Launcher: @unchecked Sendable {
    private let configuration: LaunchConfiguration
    private let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let eventLoop: EventLoop
    private var machine: SupervisorStateMachine
    private var runtime: RuntimeDirectory!
    private var ownsRuntime = false
    /// Checkpoints of each local source.
    private var stores: [SupervisorStateMachine.SourceID: CheckpointStore] = [:]
    private var processes: [GroupProcess] = []
    private let notifications = NotifyHub()
    /// The last STATUS of each worker, by "stream/shard".
    private var workerStatus: [String: [String: String]] = [:]
    /// Item latencies the workers reported when they ended.
    private var latency = LatencyHistogram()
    /// Peak proportional memory of the group's processes (sampled on the status thread).
    private let memory = NIOLockedValueBox(MemorySampler())
    private var sessions: [SupervisorStateMachine.SourceID: LocalSourceSession] = [:]
    private var kclDaemons: [SupervisorStateMachine.SourceID: ChildProcess] = [:]
    private var workerUsage = ResourceUse()
    private var workerCount = 0
    private var timer: Scheduled<Void>?
    private var finished = false
    private let done: EventLoopPromise<Int32>
    private var report: RunReport!
    private var reaper: ChildReaper!
    /// Restarts of each process, for the metrics endpoint's thread.
    private let restartCounts = NIOLockedValueBox<[String: Int]>([:])
    /// The group's last `status`, gathered off the event loop for the progress line.
    private let lastStatus = NIOLockedValueBox<GroupStatus?>(nil)
    private let statusGathering = NIOLockedValueBox(false)
    private let statusPool = NIOThreadPool(numberOfThreads: 1)
    private var metricsEndpoint: MetricsEndpoint?
    private var controlChannel: Channel?
    private var sourceSummaries: [SupervisorStateMachine.SourceID: SourcePump.Summary] = [:]
    private var completedSources: Set<SupervisorStateMachine.SourceID> = []
    private var recordsDeliveredBefore = 0

    public init(configuration: LaunchConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoop = group.next()
        self.done = eventLoop.makePromise(of: Int32.self)
        var members: [SupervisorStateMachine.Member] = []
        for index in 0..<configuration.reducers { members.append(.init(kind: .reducer, index: index)) }
        for index in 0..<configuration.routers { members.append(.init(kind: .router, index: index)) }
        for index in 0..<configuration.mappers { members.append(.init(kind: .mapper, index: index)) }
        var supervision = SupervisorStateMachine.Configuration(members: members)
        supervision.restart = configuration.restart
        supervision.readyTimeout = configuration.readyTimeout
        supervision.drainTimeout = configuration.drainTimeout
        supervision.sources = configuration.sources.count
        self.machine = SupervisorStateMachine(configuration: supervision)
    }

    /// Runs the group to the end; returns the exit status.
    public func run() throws -> Int32 {
        try prepareDirectories()
        // Orphans of the group (a killed reducer's exec: child) become the launcher's, so the
        // launcher can stop them: nothing the run started outlives it.
        _ = shardflow_set_child_subreaper()
        reaper = ChildReaper { [eventLoop, notifications] pid, termination, usage in
            // What the child reported before it exited is handled before its exit.
            notifications.flush {
                eventLoop.execute { self.childExited(pid: pid, termination: termination, usage: usage) }
            }
        }
        reaper.start()
        statusPool.start()
        installSignalHandlers()
        eventLoop.execute { self.begin() }
        let code = (try? done.futureResult.wait()) ?? ExitStatus.failed
        metricsEndpoint?.stop()
        try? statusPool.syncShutdownGracefully()
        Self.killRemainingChildren()
        reaper.stop()
        notifications.stop()
        try? group.syncShutdownGracefully()
        cleanUpRuntimeDirectory()
        return code
    }

    // MARK: Start-up

    private func prepareDirectories() throws {
        if let path = configuration.runtimeDirectory {
            runtime = RuntimeDirectory(path: path)
            try runtime.prepare()
        } else {
            let base = RuntimeDirectory.environment("XDG_RUNTIME_DIR").map { $0 + "/" } ?? "/tmp/"
            var template = Array((base + "shardflow-XXXXXX").utf8CString)
            guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
                throw SystemCallError(call: "mkdtemp(\(base)shardflow-XXXXXX)", code: errno)
            }
            runtime = RuntimeDirectory(path: String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
            ownsRuntime = true
        }
        guard configuration.hasLocalSource else { return }
        try RuntimeDirectory.makeDirectories(configuration.stateDirectory, mode: 0o750)
        if let notice = try SourceIdentity.migrateSingleStreamLayout(state: configuration.stateDirectory, streams: configuration.sources) {
            logger.notice("\(notice)")
        }
        for (id, stream) in configuration.sources.enumerated() where stream.isLocal {
            let directory = configuration.stateDirectory(of: stream)
            var store = try CheckpointStore(directory: directory)
            if configuration.reset, !store.checkpoints.isEmpty {
                try store.removeAll()
                logger.notice("--reset: forgot the stored checkpoints in \(store.path)")
            }
            try SourceIdentity.check(stream, shards: configuration.shards, directory: directory, reset: configuration.reset)
            stores[id] = store
        }
    }

    private func begin() {
        let common = ["--runtime-dir", runtime.path, "--log-level", configuration.childLogLevel]
            + configuration.commonArguments + configuration.groupArguments
        processes = machine.configuration.members.map { member in
            let arguments: [String]
            switch member.kind {
            case .reducer:
                arguments = [configuration.binary("shardflow-reducer"), "--index", String(member.index),
                             "--processor", configuration.processor.description, "--mappers", String(configuration.mappers)]
                    + common + configuration.reducerArguments
            case .router:
                arguments = [configuration.binary("shardflow-router"), "--index", String(member.index), "--mappers", String(configuration.mappers),
                             "--ordering", configuration.ordering.rawValue] + common
            case .mapper:
                arguments = [configuration.binary("shardflow-mapper"), "--index", String(member.index),
                             "--routers", String(configuration.routers), "--reducers", String(configuration.reducers),
                             "--extract", configuration.extract.rawValue, "--key", configuration.key.description]
                    + configuration.filters.flatMap { ["--filter", $0.text] } + common
            }
            return GroupProcess(member: member, arguments: arguments, notifyPath: "\(runtime.path)/notify-\(member.name).sock")
        }
        report = RunReport(configuration: configuration, runtime: runtime, stateDirectory: configuration.stateDirectory)
        do {
            try notifications.listen(at: "\(runtime.path)/notify-workers.sock") { fields in
                self.eventLoop.execute { self.workerReported(fields) }
            }
            for (id, process) in processes.enumerated() {
                try notifications.listen(at: process.notifyPath) { fields in
                    self.eventLoop.execute { self.processReported(id, fields) }
                }
            }
            let rejected = RateLimitedLog(logger: logger)
            notifications.onRejected = { uid, pid, path in
                rejected.warning("dropped a message on \(path) from uid \(uid) (pid \(pid)): only this user's processes may report")
            }
            try notifications.start()
        } catch {
            logger.critical("cannot create the notify sockets: \(error)")
            finish(code: ExitStatus.failed)
            return
        }
        startControlSocket()
        startMetricsEndpoint()
        // The workers first: each takes longer to start than a process of the group, which
        // starts right after them.
        prepareLocalSessions()
        run(machine.start(now: .now()))
    }

    /// Starts the local sources' workers while the group starts (they wait for `initialize`):
    /// each saves its own start-up from the time after the group is ready. Best effort: a
    /// session that cannot be prepared, or whose worker dies before the source starts, is
    /// dropped, and the source starts the usual way, reporting what goes wrong.
    private func prepareLocalSessions() {
        for (id, stream) in configuration.sources.enumerated() where stream.isLocal && !finished && sessions[id] == nil {
            let session = makeLocalSession(id)
            do {
                try session.prepare(checkpoints: stores[id]!.checkpoints)
                sessions[id] = session
            } catch {
                session.kill()
                logger.debug("could not start the workers of stream \(stream.stream) ahead of the source: \(error)")
            }
        }
    }

    private var controlDirectory: String { runtime.path + "/control" }

    /// `control/launcher.sock`: the process table (states, restarts) for `shardflow status`.
    private func startControlSocket() {
        let started = ControlServer.start(
            at: controlDirectory + "/launcher.sock", on: eventLoop, transport: TransportConfiguration(), logger: logger
        ) { request in
            switch request {
            case "status": self.statusDocument()
            case "metrics": ""  // the launcher's own figures are in the endpoint it serves
            default: "# unknown request \(request): ask status or metrics\n"
            }
        }
        started.whenSuccess { self.controlChannel = $0 }
        started.whenFailure { self.logger.warning("no control socket for the launcher: \($0); `shardflow status` shows no restarts") }
    }

    private func statusDocument() -> String {
        var json = JSONWriter(buffer: ByteBuffer())
        ProcessStatus.begin(&json, process: "launcher", role: "launcher")
        json.key("processes")
        json.beginArray()
        for (id, process) in processes.enumerated() {
            json.beginObject()
            json.key("name"); json.string(process.name)
            json.key("role"); json.string(process.kind.rawValue)
            json.key("state"); json.string(machine.isRunning(id) ? (process.child == nil ? "starting" : "running") : "down")
            json.key("pid"); json.optionalInteger(process.child?.pid)
            json.key("restarts"); json.integer(process.restarts)
            json.endObject()
        }
        json.endArray()
        json.key("streams")
        json.beginArray()
        for stream in configuration.sources { json.string(stream.description) }
        json.endArray()
        return ProcessStatus.end(&json)
    }

    private func startMetricsEndpoint() {
        guard let address = configuration.metricsAddress else { return }
        let restartCounts = self.restartCounts
        let endpoint = MetricsEndpoint(
            gatherer: MetricsGatherer(controlDirectory: controlDirectory, process: "launcher",
                                      knownRestarts: { restartCounts.withLockedValue { $0 } }),
            logger: logger)
        metricsEndpoint = endpoint
        endpoint.start(at: address, on: group).whenComplete { result in
            switch result {
            case .success(let bound):
                let shown = bound.flatMap { bound in bound.port.map { "\(bound.ipAddress ?? "?"):\($0)" } } ?? address.description
                self.logger.notice("serving the group's metrics at http://\(shown)/metrics")
            case .failure(let error):
                self.logger.error("cannot serve metrics at \(address): \(error) (--metrics-listen)")
            }
        }
    }

    /// Gathers the group's status on another thread (for the progress line's stuck records).
    private func refreshStatus() {
        let directory = controlDirectory
        guard statusGathering.withLockedValue({ busy in defer { busy = true }; return !busy }) else { return }
        let box = lastStatus
        let flag = statusGathering
        statusPool.submit { _ in
            let status = GroupStatus.gather(controlDirectory: directory, timeoutMilliseconds: 1000)
            box.withLockedValue { $0 = status }
            flag.withLockedValue { $0 = false }
        }
    }

    /// The environment of every child the launcher starts: where to send `sd_notify`
    /// messages, and the launcher's pid (a child dies with the launcher).
    private func childEnvironment(notify path: String) -> [String: String] {
        ["NOTIFY_SOCKET": path, "SHARDFLOW_PARENT_PID": String(getpid())]
    }

    // MARK: Actions

    private func run(_ actions: [SupervisorStateMachine.Action]) {
        for action in actions {
            switch action {
            case .spawn(let id):
                spawn(id)
            case .signal(let id, let signal):
                // SIGTERM asks the process itself to drain; SIGKILL ends it with whatever it started.
                if signal == SIGKILL { processes[id].child?.sendToGroup(signal: signal) } else { processes[id].child?.send(signal: signal) }
            case .startSource(let id):
                startSource(id)
            case .stopSource(let id):
                stopSource(id)
            case .killSource(let id):
                sessions[id]?.kill()
                kclDaemons[id]?.sendToGroup(signal: SIGKILL)
            case .killAll:
                // Everything at once, the processes' own children (exec: processors) included:
                // none outlives its parent long enough to complain about a closed pipe.
                for pid in ProcessTable.descendants(of: getpid()) { kill(pid, SIGKILL) }
                for session in sessions.values { session.kill() }
                for daemon in kclDaemons.values { daemon.sendToGroup(signal: SIGKILL) }
                for process in processes { process.child?.sendToGroup(signal: SIGKILL) }
            case .scheduleTimer(let deadline):
                timer?.cancel()
                timer = deadline.map { deadline in
                    eventLoop.scheduleTask(deadline: deadline) { self.run(self.machine.timerFired(now: .now())) }
                }
            case .report(let event):
                log(event)
            case .finish(let code):
                finish(code: code)
            }
        }
    }

    private func spawn(_ id: SupervisorStateMachine.MemberID) {
        let process = processes[id]
        process.spawned()
        restartCounts.withLockedValue { $0[process.name] = process.restarts }
        do {
            process.child = try ChildProcess.spawn(
                process.arguments, executable: configuration.groupExecutable, environment: childEnvironment(notify: process.notifyPath),
                newProcessGroup: true)
            logger.debug("started \(process.name) (pid \(process.child!.pid))")
        } catch {
            // After the rest of this batch of actions: they were decided with this one.
            eventLoop.execute { self.run(self.machine.spawnFailed(id, reason: "\(error)", now: .now())) }
        }
    }

    private func log(_ event: SupervisorStateMachine.Event) {
        switch event {
        case .starting(let reducers, let routers, let mappers):
            logger.info("starting \(reducers.counted("reducer")), \(routers.counted("router")) and \(mappers.counted("mapper"))\(configuration.ordering == .none ? " (no ordering)" : "") in \(runtime.path)")
        case .groupReady:
            logger.info("group ready")
            if configuration.sources.isEmpty {
                beginReporting()
                report.printWorkerCommand(workerCommand(for: nil))
            }
        case .restarting(let id, let termination, let delay, let attempt):
            logger.warning("\(machine.member(id)) \(termination); restarting it in \(delay.prettyDescription) (\(restartCount(attempt)); the rest of the group keeps running)")
        case .sourceRestarting(let id, let reason, let delay, let attempt):
            let source = configuration.sources.count == 1 ? "the source" : "the source of stream \(configuration.sources[id].stream)"
            logger.warning("\(reason); restarting \(source) from the stored checkpoints in \(delay.prettyDescription) (\(restartCount(attempt)))")
        case .stopping(let signal):
            let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
            logger.notice("\(name): stopping gracefully — workers hand their shards back (checkpointing what is complete), then the group drains; \(name) again to stop at once")
        case .killingEverything(let signal):
            logger.warning("second \(signal == SIGINT ? "SIGINT" : "SIGTERM"): killing every process now")
        case .stopTimedOut(let id, let timeout):
            logger.warning("\(machine.member(id)) did not stop within \(timeout.prettyDescription); killing it")
        case .drainTimedOut(let timeout):
            logger.warning("the drain deadline (--drain-timeout \(timeout.prettyDescription)) passed with shards still stopping: stopping their workers now; what was complete is checkpointed, the rest is processed again on the next run")
        case .fatal(let message):
            logger.critical("\(message)")
        }
    }

    /// How a restart counts toward the limit, for the log.
    private func restartCount(_ attempt: Int) -> String {
        let limit = "at most \(configuration.restart.limit) crashes within \(configuration.restart.window.prettyDescription) before the run ends"
        return attempt == 0 ? "killed from outside, so not counted toward the limit of \(limit)" : "crash \(attempt); \(limit)"
    }

    // MARK: Source

    private func beginReporting() {
        guard !report.started else { return }
        report.start()
        sampleMemory()
        eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { _ in
            guard !self.finished else { return }
            self.sampleMemory()
        }
        if let interval = configuration.progressInterval {
            eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                guard !self.finished else { return }
                self.refreshStatus()
                self.report.progress(self.snapshot())
            }
        }
    }

    /// Reads /proc off the event loop (which plays the daemon for the workers).
    private func sampleMemory() {
        let named = processes.compactMap { process in process.child.map { (process.name, $0.pid) } } + [("launcher", getpid())]
        // Only a reducer running an exec: processor (and what the launcher does not know, such
        // as a KCL daemon) starts processes: the others' children are not looked up.
        let startsNothing = processes.filter { $0.kind != .reducer || !configuration.processor.isExec }
        let leaves = Set(startsNothing.compactMap { $0.child?.pid } + sessions.values.flatMap(\.workerPids))
        let memory = self.memory
        statusPool.submit { _ in
            var sampler = memory.withLockedValue { $0 }
            sampler.sample(named: named, root: getpid(), leaves: leaves)
            memory.withLockedValue { $0 = sampler }
        }
    }

    private func startSource(_ id: SupervisorStateMachine.SourceID) {
        beginReporting()
        let stream = configuration.sources[id]
        switch stream.specification {
        case .file, .generate:
            startLocalSession(id)
        case .kcl(let properties):
            startKCL(id, properties: properties)
        case .none:
            preconditionFailure("--source none starts no source")
        }
    }

    private func stopSource(_ id: SupervisorStateMachine.SourceID) {
        if let session = sessions[id] {
            session.requestStop()
        } else if let daemon = kclDaemons[id] {
            daemon.send(signal: SIGTERM)  // the daemon's shutdown hook sends shutdownRequested
        } else {
            run(machine.sourceEnded(id, .stopped, now: .now()))
        }
    }

    /// The command line of a worker of `stream` (also the `executableName` for a daemon).
    func workerCommand(for stream: StreamSource?) -> [String] {
        if let override = configuration.workerCommandOverride { return override }
        let streamArguments = stream.map { $0.stream.isEmpty ? [] : ["--stream", $0.stream] } ?? []
        return [configuration.binary("shardflow-worker"), "--runtime-dir", runtime.path, "--routers", String(configuration.routers),
                "--log-level", configuration.childLogLevel] + streamArguments + configuration.commonArguments + configuration.workerArguments
    }

    private func makeLocalSession(_ id: SupervisorStateMachine.SourceID) -> LocalSourceSession {
        let stream = configuration.sources[id]
        let settings = LocalSourceSession.Settings(
            source: stream.specification, stream: stream.stream, shards: configuration.shards, batchRecords: configuration.batchRecords,
            workerArguments: workerCommand(for: stream),
            workerExecutable: configuration.workerCommandOverride == nil ? configuration.groupExecutable : nil,
            workerEnvironment: childEnvironment(notify: "\(runtime.path)/notify-workers.sock"),
            injectedCheckpointErrors: configuration.injectedCheckpointErrors)
        return LocalSourceSession(
            settings: settings, eventLoop: eventLoop, logger: logger,
            persist: { shardId, checkpoint in try self.stores[id]!.update(shardId, to: checkpoint) },
            onFinished: { outcome in self.sessionFinished(id, outcome) })
    }

    private func startLocalSession(_ id: SupervisorStateMachine.SourceID) {
        let stream = configuration.sources[id]
        let session: LocalSourceSession
        if let prepared = sessions[id], !prepared.hasBegun, !prepared.hasFailed {
            session = prepared
        } else {
            if let stale = sessions[id], !stale.hasBegun { stale.kill() }
            session = makeLocalSession(id)
        }
        sessions[id] = session
        do {
            try session.start(checkpoints: stores[id]!.checkpoints)
        } catch {
            sessions[id] = nil
            // After the rest of this batch of actions (a timer it schedules would otherwise be
            // replaced by theirs, and the restart never come).
            eventLoop.execute { self.run(self.machine.sourceEnded(id, .failed("cannot start the source \(stream): \(error)"), now: .now())) }
            return
        }
        // Only now that the source has opened: a start that failed leaves nothing behind.
        do {
            try SourceIdentity.record(stream, shards: configuration.shards, directory: configuration.stateDirectory(of: stream))
        } catch {
            logger.warning("cannot record which source the checkpoints of stream \(stream.stream) belong to: \(error)")
        }
    }

    private func sessionFinished(_ id: SupervisorStateMachine.SourceID, _ outcome: LocalSourceSession.Outcome) {
        if let session = sessions[id] { recordsDeliveredBefore += session.recordsDelivered }
        sessions[id] = nil
        switch outcome {
        case .completed(let summary):
            sourceSummaries[id] = summary
            sourceCompleted(id)
            let code = summary.invalidLines.isEmpty ? ExitStatus.completed : ExitStatus.invalidInput
            run(machine.sourceEnded(id, .completed(code: code), now: .now()))
        case .stopped:
            run(machine.sourceEnded(id, .stopped, now: .now()))
        case .failed(let reason, let counts):
            run(machine.sourceEnded(id, .failed(reason, counts: counts), now: .now()))
        }
    }

    /// The run's processing time ends when the last source completed.
    private func sourceCompleted(_ id: SupervisorStateMachine.SourceID) {
        completedSources.insert(id)
        if completedSources.count == configuration.sources.count { report.sourceCompleted() }
    }

    private func startKCL(_ id: SupervisorStateMachine.SourceID, properties: String) {
        let stream = configuration.sources[id]
        do {
            let written = try KCLProperties.write(
                userProperties: properties, workerCommand: workerCommand(for: stream), directory: runtime.path,
                name: "shardflow-kcl-\(stream.stream).properties")
            guard let classpath = configuration.kcl.classpath else {
                throw ConfigurationError("--source kcl: needs --kcl-classpath (the KCL multilang jars)")
            }
            let daemon = try ChildProcess.spawn(
                [configuration.kcl.java, "-cp", classpath, configuration.kcl.mainClass, written],
                environment: childEnvironment(notify: "\(runtime.path)/notify-workers.sock"), newProcessGroup: true)
            kclDaemons[id] = daemon
            logger.info("started the KCL MultiLangDaemon for stream \(stream.stream) (pid \(daemon.pid)) with \(written)")
        } catch {
            eventLoop.execute {
                self.run(self.machine.sourceEnded(id, .failed("cannot start the KCL MultiLangDaemon for stream \(stream.stream): \(error)"), now: .now()))
            }
        }
    }

    // MARK: Children

    private func childExited(pid: pid_t, termination: ChildProcess.Termination, usage: ChildProcess.Usage) {
        if let session = sessions.values.first(where: { $0.owns(pid: pid) }) {
            workerUsage.add(usage)
            workerCount += 1
            _ = session.childExited(pid: pid, termination: termination)
            return
        }
        if let (id, _) = kclDaemons.first(where: { $0.value.pid == pid }) {
            kclDaemons[id] = nil
            workerUsage.add(usage)
            let outcome: SupervisorStateMachine.SourceOutcome = termination.isSuccess
                ? .completed(code: ExitStatus.completed)
                : .failed("the KCL MultiLangDaemon of stream \(configuration.sources[id].stream) \(termination)", counts: termination.isSelfInflicted)
            if termination.isSuccess { sourceCompleted(id) }
            run(machine.sourceEnded(id, outcome, now: .now()))
            return
        }
        guard let id = processes.firstIndex(where: { $0.child?.pid == pid }) else {
            workerUsage.add(usage)  // a worker of an earlier session
            return
        }
        let process = processes[id]
        process.usage.add(usage)
        process.child = nil
        process.incarnationEnded()
        run(machine.childExited(id, termination: termination, now: .now()))
    }

    private func processReported(_ id: SupervisorStateMachine.MemberID, _ fields: [String: String]) {
        if let status = fields["STATUS"] {
            processes[id].status = NotifyHub.statusFields(status)
        }
        if fields["READY"] == "1" {
            run(machine.ready(id, now: .now()))
        }
    }

    private func workerReported(_ fields: [String: String]) {
        if let encoded = fields["SHARDFLOW_LATENCY"], let histogram = LatencyHistogram(encoded: encoded) {
            latency.merge(histogram)
        }
        guard let status = fields["STATUS"] else { return }
        let values = NotifyHub.statusFields(status)
        if let shard = values["shard"] { workerStatus["\(values["stream"] ?? "")/\(shard)"] = values }
    }

    // MARK: Stopping

    private func installSignalHandlers() {
        signal(SIGPIPE, SIG_IGN)
        SignalWaiter.start { [eventLoop] signalNumber in
            eventLoop.execute { self.run(self.machine.signalReceived(signalNumber, now: .now())) }
        }
    }

    private func finish(code: Int32) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        // Processes just killed (a second signal) are reaped first, so the summary shows
        // their real CPU time and memory.
        afterChildrenExit(deadline: .now() + .seconds(2)) { self.summarize(code: code) }
    }

    private func afterChildrenExit(deadline: NIODeadline, _ body: @escaping () -> Void) {
        guard processes.contains(where: { $0.child != nil }) || !kclDaemons.isEmpty, NIODeadline.now() < deadline else {
            body()
            return
        }
        eventLoop.scheduleTask(in: .milliseconds(10)) { self.afterChildrenExit(deadline: deadline, body) }
    }

    private func summarize(code: Int32) {
        if report?.started == true {
            // A last progress line, so even a run shorter than the interval shows one.
            if configuration.progressInterval != nil { report.progress(snapshot()) }
            if let problem = report.summary(snapshot(), code: code) {
                logger.error("\(problem)")
                done.succeed(code == ExitStatus.completed || code == ExitStatus.invalidInput ? ExitStatus.failed : code)
                return
            }
        }
        done.succeed(code)
    }

    /// Kills whatever is still a child of the launcher when the run ends: processes of the group
    /// that had to be killed may have left children of their own (reparented here), each in
    /// its own process group.
    static func killRemainingChildren() {
        for pid in ProcessTable.children(of: getpid()) {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
    }

    private func cleanUpRuntimeDirectory() {
        guard ownsRuntime else { return }
        for index in 0..<configuration.routers { unlink(runtime.routerSocket(index)) }
        for index in 0..<configuration.reducers { unlink(runtime.reducerSocket(index)) }
        for stream in configuration.sources { unlink("\(runtime.path)/shardflow-kcl-\(stream.stream).properties") }
        for socket in ControlClient.sockets(in: controlDirectory) { unlink(socket.path) }
        rmdir(controlDirectory)
        rmdir(runtime.path)
    }

    // MARK: Figures

    private func snapshot() -> RunReport.Snapshot {
        var snapshot = RunReport.Snapshot()
        snapshot.recordsRead = sessions.values.reduce(0) { $0 + $1.recordsRead }
        snapshot.recordsDelivered = recordsDeliveredBefore + sessions.values.reduce(0) { $0 + $1.recordsDelivered }
        let reducers = processes.filter { $0.kind == .reducer }
        snapshot.items = reducers.reduce(0) { $0 + $1.total("items") }
        snapshot.itemsFailed = reducers.reduce(0) { $0 + $1.total("failed") }
        snapshot.itemsDeadLettered = reducers.reduce(0) { $0 + $1.total("dead-lettered") }
        snapshot.itemsRetried = reducers.reduce(0) { $0 + $1.total("retried") }
        snapshot.itemsExpired = reducers.reduce(0) { $0 + $1.total("expired") }
        snapshot.itemsFiltered = processes.filter { $0.kind == .mapper }.reduce(0) { $0 + $1.total("filtered") }
        snapshot.incomplete = workerStatus.values.reduce(0) { $0 + (Int($1["incomplete"] ?? "") ?? 0) }
        if let status = lastStatus.withLockedValue({ $0 }) {
            let threshold = Double(configuration.stuckAfter.nanoseconds) / 1e9
            snapshot.stuck = status.stuck(after: threshold)
            snapshot.shardFigures = status.shards
        }
        snapshot.streams = configuration.sources.indices.compactMap { id in
            guard let store = stores[id] else { return nil }
            return .init(name: configuration.sources[id].stream, checkpointsPath: store.path, checkpoints: store.checkpoints,
                         source: sourceSummaries[id] ?? SourcePump.Summary())
        }
        snapshot.shards = configuration.shards * snapshot.streams.count
        snapshot.processes = processes.map { ($0.name, $0.usage) }
        snapshot.latency = latency
        let sampler = memory.withLockedValue { $0 }
        snapshot.peakProportional = sampler.peakByName
        snapshot.peakProportionalSum = sampler.peakSum
        snapshot.workers = (workerCount, workerUsage)
        snapshot.incompleteShards = workerStatus.compactMap { key, status in
            guard let records = Int(status["incomplete"] ?? ""), records > 0 else { return nil }
            // "stream/shard"; with one stream, just the shard.
            return (configuration.sources.count > 1 ? key : status["shard"] ?? key, records)
        }.sorted { $0.shard < $1.shard }
        return snapshot
    }
}
