import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// `shardflow run`: starts and supervises a whole group on one host — reducers and routers,
/// then mappers, then the source — restarts a process that dies (ending the run if it keeps
/// dying), shows progress, and on completion or SIGINT/SIGTERM drains in order: workers first
/// (they checkpoint), then mappers, routers and reducers.
public final class Launcher: @unchecked Sendable {
    /// Exit codes of `shardflow run`.
    public enum ExitStatus {
        public static let completed: Int32 = 0
        public static let failed: Int32 = 1
        public static let invalidInput: Int32 = 3
        public static let interrupted: Int32 = 130
        public static let terminated: Int32 = 143
    }

    private let configuration: LaunchConfiguration
    private let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let eventLoop: EventLoop
    private var runtime: RuntimeDirectory!
    private var ownsRuntime = false
    private var store: CheckpointStore!
    private var processes: [GroupProcess] = []
    private let notifications = NotifyHub()
    private var workerStatus: [String: [String: String]] = [:]
    private var session: LocalSourceSession?
    private var sessionFailures: [NIODeadline] = []
    private var kclDaemon: ChildProcess?
    private var workerUsage = ResourceUse()
    private var workerCount = 0
    private var stopping: Int32?
    private var finished = false
    private let done: EventLoopPromise<Int32>
    private var report: RunReport!
    private var reaper: ChildReaper!
    private var sourceSummary = SourcePump.Summary()
    private var recordsDeliveredBefore = 0

    public init(configuration: LaunchConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoop = group.next()
        self.done = eventLoop.makePromise(of: Int32.self)
    }

    /// Runs the group to the end; returns the exit status.
    public func run() throws -> Int32 {
        try prepareDirectories()
        reaper = ChildReaper { [eventLoop] pid, termination, usage in
            eventLoop.execute { self.childExited(pid: pid, termination: termination, usage: usage) }
        }
        reaper.start()
        installSignalHandlers()
        eventLoop.execute { self.begin() }
        let code = (try? done.futureResult.wait()) ?? ExitStatus.failed
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
        store = try CheckpointStore(directory: configuration.stateDirectory)
        if configuration.reset, !store.checkpoints.isEmpty {
            try store.removeAll()
            logger.notice("--reset: forgot the stored checkpoints in \(store.path)")
        }
        try SourceIdentity.check(configuration: configuration, reset: configuration.reset)
    }

    private func begin() {
        let me = String(getpid())
        let common = ["--runtime-dir", runtime.path, "--log-level", configuration.childLogLevel] + configuration.commonArguments
        for index in 0..<configuration.reducers {
            processes.append(GroupProcess(
                kind: .reducer, index: index,
                arguments: [configuration.binary("shardflow-reducer"), "--index", String(index),
                            "--processor", configuration.processor.description] + common + configuration.reducerArguments,
                notifyPath: "\(runtime.path)/notify-reducer-\(index).sock"))
        }
        for index in 0..<configuration.routers {
            processes.append(GroupProcess(
                kind: .router, index: index,
                arguments: [configuration.binary("shardflow-router"), "--index", String(index)] + common
                    + (configuration.keyOrdered ? ["--key-ordered", "--mappers", String(configuration.mappers)] : []),
                notifyPath: "\(runtime.path)/notify-router-\(index).sock"))
        }
        for index in 0..<configuration.mappers {
            processes.append(GroupProcess(
                kind: .mapper, index: index,
                arguments: [configuration.binary("shardflow-mapper"), "--index", String(index),
                            "--routers", String(configuration.routers), "--reducers", String(configuration.reducers),
                            "--extract", configuration.extract.rawValue, "--key", configuration.key.description] + common,
                notifyPath: "\(runtime.path)/notify-mapper-\(index).sock"))
        }
        report = RunReport(configuration: configuration, runtime: runtime, stateDirectory: configuration.stateDirectory)
        logger.info("starting \(configuration.reducers) reducers, \(configuration.routers) routers and \(configuration.mappers) mappers\(configuration.keyOrdered ? " (key-ordered routing)" : "") in \(runtime.path)")

        let firstWave = processes.filter { $0.kind != .mapper }
        let mappers = processes.filter { $0.kind == .mapper }
        do {
            try notifications.listen(at: "\(runtime.path)/notify-workers.sock") { fields in
                self.eventLoop.execute { self.workerReported(fields) }
            }
            for process in processes {
                try notifications.listen(at: process.notifyPath) { fields in
                    self.eventLoop.execute { self.processReported(process, fields) }
                }
            }
        } catch {
            fatal("cannot create the notify sockets: \(error)")
            return
        }
        notifications.start()
        startAll(firstWave, parent: me)
        .flatMap { self.startAll(mappers, parent: me) }
        .whenComplete { result in
            switch result {
            case .success:
                self.logger.info("group ready")
                self.startSource()
            case .failure(let error):
                self.fatal("the group did not start: \(error)")
            }
        }
    }

    private func startAll(_ list: [GroupProcess], parent: String) -> EventLoopFuture<Void> {
        let started = list.map { process -> EventLoopFuture<Void> in
            do {
                try self.spawn(process, parent: parent)
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
            return self.waitUntilReady(process)
        }
        return EventLoopFuture.andAllSucceed(started, on: eventLoop)
    }

    private func spawn(_ process: GroupProcess, parent: String) throws {
        guard stopping == nil else { return }
        process.isReady = false
        process.child = try ChildProcess.spawn(
            process.arguments,
            environment: ["NOTIFY_SOCKET": process.notifyPath, "SHARDFLOW_PARENT_PID": parent])
        logger.debug("started \(process.name) (pid \(process.child!.pid))")
    }

    private func waitUntilReady(_ process: GroupProcess) -> EventLoopFuture<Void> {
        if process.isReady { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        process.readyWaiters.append(promise)
        let timeout = configuration.readyTimeout
        eventLoop.scheduleTask(in: timeout) {
            guard !process.isReady else { return }
            process.readyWaiters.removeAll { $0.futureResult === promise.futureResult }
            promise.fail(ConfigurationError("\(process.name) did not report READY=1 within \(timeout.prettyDescription) (see its log lines above)"))
        }
        return promise.futureResult
    }

    // MARK: Source

    private func startSource() {
        guard stopping == nil else { return }
        report.start()
        if let interval = configuration.progressInterval {
            eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                guard self.stopping == nil || self.session != nil else { return }
                self.report.progress(self.snapshot())
            }
        }
        switch configuration.source {
        case .file, .generate:
            startLocalSession()
        case .kcl(let properties):
            startKCL(properties: properties)
        case .none:
            report.printWorkerCommand(workerCommand)
        }
    }

    /// The command line of a worker for this group (also the `executableName` for a daemon).
    var workerCommand: [String] {
        if let override = configuration.workerCommandOverride { return override }
        return [configuration.binary("shardflow-worker"), "--runtime-dir", runtime.path, "--routers", String(configuration.routers),
         "--log-level", configuration.childLogLevel] + configuration.commonArguments + configuration.workerArguments
    }

    private func startLocalSession() {
        let settings = LocalSourceSession.Settings(
            source: configuration.source, shards: configuration.shards, batchRecords: configuration.batchRecords,
            workerArguments: workerCommand,
            workerEnvironment: ["NOTIFY_SOCKET": "\(runtime.path)/notify-workers.sock", "SHARDFLOW_PARENT_PID": String(getpid())],
            injectedCheckpointErrors: configuration.injectedCheckpointErrors)
        let session = LocalSourceSession(
            settings: settings, eventLoop: eventLoop, logger: logger,
            persist: { shardId, checkpoint in try self.store.update(shardId, to: checkpoint) },
            onFinished: { outcome in self.sessionFinished(outcome) })
        self.session = session
        do {
            try session.start(checkpoints: store.checkpoints)
        } catch {
            self.session = nil
            fatal("cannot start the source: \(error)")
        }
    }

    private func sessionFinished(_ outcome: LocalSourceSession.Outcome) {
        if let session { recordsDeliveredBefore += session.recordsDelivered }
        session = nil
        switch outcome {
        case .completed(let summary):
            report.sourceCompleted()
            sourceSummary = summary
            let code = summary.invalidLines.isEmpty ? ExitStatus.completed : ExitStatus.invalidInput
            stopGroup(code: stopping ?? code)
        case .stopped:
            stopGroup(code: stopping ?? ExitStatus.interrupted)
        case .failed(let reason):
            if let stopping {
                stopGroup(code: stopping)
                return
            }
            let now = NIODeadline.now()
            sessionFailures = sessionFailures.filter { now - $0 < configuration.restartWindow } + [now]
            guard sessionFailures.count <= configuration.restartLimit else {
                fatal("the source failed \(sessionFailures.count) times within \(configuration.restartWindow.prettyDescription); last: \(reason)")
                return
            }
            let delay = WorkerStateMachine.backoffDelay(attempt: sessionFailures.count, initial: .milliseconds(200), maximum: .seconds(5))
            logger.warning("restarting the source from the stored checkpoints in \(delay.prettyDescription) (restart \(sessionFailures.count) of at most \(configuration.restartLimit) within \(configuration.restartWindow.prettyDescription))")
            eventLoop.scheduleTask(in: delay) {
                guard self.stopping == nil else {
                    self.stopGroup(code: self.stopping!)
                    return
                }
                self.startLocalSession()
            }
        }
    }

    private func startKCL(properties: String) {
        do {
            let written = try KCLProperties.write(
                userProperties: properties, workerCommand: workerCommand, directory: runtime.path)
            guard let classpath = configuration.kcl.classpath else {
                throw ConfigurationError("--source kcl: needs --kcl-classpath (the KCL multilang jars)")
            }
            let daemon = try ChildProcess.spawn(
                [configuration.kcl.java, "-cp", classpath, configuration.kcl.mainClass, written],
                environment: ["NOTIFY_SOCKET": "\(runtime.path)/notify-workers.sock", "SHARDFLOW_PARENT_PID": String(getpid())])
            kclDaemon = daemon
            logger.info("started the KCL MultiLangDaemon (pid \(daemon.pid)) with \(written)")
        } catch {
            fatal("cannot start the KCL MultiLangDaemon: \(error)")
        }
    }

    // MARK: Children

    private func childExited(pid: pid_t, termination: ChildProcess.Termination, usage: ChildProcess.Usage) {
        if let session, session.owns(pid: pid) {
            workerUsage.add(usage)
            workerCount += 1
            _ = session.childExited(pid: pid, termination: termination)
            return
        }
        if let daemon = kclDaemon, daemon.pid == pid {
            kclDaemon = nil
            workerUsage.add(usage)
            if let stopping {
                stopGroup(code: stopping)
            } else if termination.isSuccess {
                stopGroup(code: ExitStatus.completed)
            } else {
                let now = NIODeadline.now()
                sessionFailures = sessionFailures.filter { now - $0 < configuration.restartWindow } + [now]
                guard sessionFailures.count <= configuration.restartLimit else {
                    fatal("the KCL MultiLangDaemon keeps exiting; last: \(termination)")
                    return
                }
                logger.warning("the KCL MultiLangDaemon \(termination); restarting it")
                if case .kcl(let properties) = configuration.source { startKCL(properties: properties) }
            }
            return
        }
        guard let process = processes.first(where: { $0.child?.pid == pid }) else {
            workerUsage.add(usage)  // a worker of an earlier session
            return
        }
        process.usage.add(usage)
        process.child = nil
        process.isReady = false
        process.incarnationEnded()
        if process.stopping {
            stopWaiters[process.name]?.succeed()
            stopWaiters[process.name] = nil
            return
        }
        guard stopping == nil else { return }
        let now = NIODeadline.now()
        process.exits = process.exits.filter { now - $0 < configuration.restartWindow } + [now]
        guard process.exits.count <= configuration.restartLimit else {
            fatal("\(process.name) keeps exiting (\(process.exits.count) times within \(configuration.restartWindow.prettyDescription); last: \(termination))")
            return
        }
        let delay = WorkerStateMachine.backoffDelay(attempt: process.exits.count, initial: .milliseconds(100), maximum: .seconds(5))
        logger.warning("\(process.name) \(termination); restarting it in \(delay.prettyDescription) (the rest of the group keeps running)")
        eventLoop.scheduleTask(in: delay) {
            do {
                try self.spawn(process, parent: String(getpid()))
            } catch {
                self.fatal("cannot restart \(process.name): \(error)")
            }
        }
    }

    private func processReported(_ process: GroupProcess, _ fields: [String: String]) {
        if let status = fields["STATUS"] {
            process.status = NotifyHub.statusFields(status)
        }
        if fields["READY"] == "1" {
            process.isReady = true
            let waiters = process.readyWaiters
            process.readyWaiters.removeAll()
            for waiter in waiters { waiter.succeed() }
        }
    }

    private func workerReported(_ fields: [String: String]) {
        guard let status = fields["STATUS"] else { return }
        let values = NotifyHub.statusFields(status)
        if let shard = values["shard"] { workerStatus[shard] = values }
    }

    // MARK: Stopping

    private var stopWaiters: [String: EventLoopPromise<Void>] = [:]

    private func installSignalHandlers() {
        signal(SIGPIPE, SIG_IGN)
        SignalWaiter.start { [eventLoop] signalNumber in
            eventLoop.execute { self.signalled(signalNumber) }
        }
    }

    private func signalled(_ signalNumber: Int32) {
        let name = signalNumber == SIGINT ? "SIGINT" : "SIGTERM"
        if stopping != nil {
            logger.warning("second \(name): killing every process now")
            killEverything()
            finish(code: signalNumber == SIGINT ? ExitStatus.interrupted : ExitStatus.terminated)
            return
        }
        stopping = signalNumber == SIGINT ? ExitStatus.interrupted : ExitStatus.terminated
        logger.notice("\(name): stopping gracefully — workers hand their shards back (checkpointing what is complete), then the group drains; \(name) again to stop at once")
        if let session {
            session.requestStop()
        } else if let daemon = kclDaemon {
            daemon.send(signal: SIGTERM)  // the daemon's shutdown hook sends shutdownRequested
        } else {
            stopGroup(code: stopping!)
        }
    }

    private func fatal(_ message: String) {
        logger.critical("\(message)")
        if stopping == nil { stopping = ExitStatus.failed }
        session?.kill()
        kclDaemon?.send(signal: SIGTERM)
        stopGroup(code: ExitStatus.failed)
    }

    private var groupStopStarted = false

    /// Stops mappers, then routers, then reducers (each given time to drain), then finishes.
    private func stopGroup(code: Int32) {
        guard !groupStopStarted else { return }
        groupStopStarted = true
        if stopping == nil { stopping = code }
        let order: [GroupProcess.Kind] = [.mapper, .router, .reducer]
        var chain = eventLoop.makeSucceededVoidFuture()
        for kind in order {
            chain = chain.flatMap { self.stop(kind: kind) }
        }
        chain.whenComplete { _ in
            self.finish(code: code)
        }
    }

    private func stop(kind: GroupProcess.Kind) -> EventLoopFuture<Void> {
        let running = processes.filter { $0.kind == kind }
        var waits: [EventLoopFuture<Void>] = []
        for process in running {
            process.stopping = true
            guard let child = process.child else { continue }
            let promise = eventLoop.makePromise(of: Void.self)
            stopWaiters[process.name] = promise
            child.send(signal: SIGTERM)
            let killTimer = eventLoop.scheduleTask(in: .seconds(30)) {
                self.logger.warning("\(process.name) did not stop within 30s; killing it")
                child.send(signal: SIGKILL)
            }
            promise.futureResult.whenComplete { _ in killTimer.cancel() }
            waits.append(promise.futureResult)
        }
        return EventLoopFuture.andAllComplete(waits, on: eventLoop)
    }

    private func killEverything() {
        session?.kill()
        kclDaemon?.send(signal: SIGKILL)
        for process in processes { process.child?.send(signal: SIGKILL) }
    }

    private func finish(code: Int32) {
        guard !finished else { return }
        finished = true
        if report.started {
            // A last progress line, so even a run shorter than the interval shows one.
            if configuration.progressInterval != nil { report.progress(snapshot()) }
            report.summary(snapshot(), code: code)
        }
        done.succeed(code)
    }

    private func cleanUpRuntimeDirectory() {
        usleep(250_000)  // the notify thread removes its sockets within one poll interval
        guard ownsRuntime else { return }
        for index in 0..<configuration.routers { unlink(runtime.routerSocket(index)) }
        for index in 0..<configuration.reducers { unlink(runtime.reducerSocket(index)) }
        unlink("\(runtime.path)/shardflow-kcl.properties")
        rmdir(runtime.path)
    }

    // MARK: Figures

    private func snapshot() -> RunReport.Snapshot {
        var snapshot = RunReport.Snapshot()
        snapshot.recordsRead = (session?.recordsRead ?? 0)
        snapshot.recordsDelivered = recordsDeliveredBefore + (session?.recordsDelivered ?? 0)
        let reducers = processes.filter { $0.kind == .reducer }
        snapshot.items = reducers.reduce(0) { $0 + $1.total("items") }
        snapshot.itemsFailed = reducers.reduce(0) { $0 + $1.total("failed") }
        snapshot.itemsDeadLettered = reducers.reduce(0) { $0 + $1.total("dead-lettered") }
        snapshot.incomplete = workerStatus.values.reduce(0) { $0 + (Int($1["incomplete"] ?? "") ?? 0) }
        snapshot.shardsEnded = store.checkpoints.values.filter { $0 == .shardEnd }.count
        snapshot.shards = configuration.shards
        snapshot.checkpoints = store.checkpoints
        snapshot.source = sourceSummary
        snapshot.processes = processes.map { ($0.name, $0.usage) }
        snapshot.workers = (workerCount, workerUsage)
        return snapshot
    }
}
