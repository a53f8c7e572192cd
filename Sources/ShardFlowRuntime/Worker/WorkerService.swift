import Logging
import NIOCore
import NIOPosix

/// The worker process: a MultiLangDaemon child for one shard. Reads the daemon's lines on
/// stdin, connects to a router, and performs what ``WorkerStateMachine`` decides: answer the
/// daemon on stdout, send records to the router, checkpoint, exit.
public final class WorkerService: ConnectionDelegate, LineInputDelegate, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Router sockets; the worker uses one and moves to the next when it fails.
        public var routerSockets: [String]
        public var transport = TransportConfiguration()
        public var machine = WorkerStateMachine.Configuration()
        /// Longest line accepted on stdin.
        public var maximumLineLength = 256 * 1024 * 1024
        /// Where the worker's control socket goes (`status`, `metrics`); nil: none.
        public var controlDirectory: String?
        /// A record incomplete this long is named in the log.
        public var stuckAfter: TimeAmount = ProcessingDefaults.stuckAfter

        public init(routerSockets: [String]) {
            self.routerSockets = routerSockets
            machine.instance = UInt64.random(in: .min ... .max)
        }
    }

    private let configuration: Configuration
    private let eventLoop: EventLoop
    let registry: ConnectionRegistry
    private var machine: WorkerStateMachine
    private let logger: Logger
    private var connector: Connector?
    /// The daemon's pipe (stdin and stdout); tests attach an `EmbeddedChannel`.
    var pipe: Channel?
    private var stdoutBuffer = ByteBuffer()
    private var timer: Scheduled<Void>?
    private var lineNumber = 0
    private var finished = false
    private let exitPromise: EventLoopPromise<Int32>
    let observability: WorkerObservability
    private var controlPath: String?

    public init(configuration: Configuration, eventLoop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.registry = ConnectionRegistry(eventLoop: eventLoop)
        self.machine = WorkerStateMachine(configuration: configuration.machine, now: eventLoop.now)
        self.logger = logger
        self.exitPromise = eventLoop.makePromise(of: Int32.self)
        self.observability = WorkerObservability(stuckAfter: configuration.stuckAfter)
    }

    /// Takes over stdin and stdout and runs until the exchange ends; returns the exit code.
    public func run() throws -> Int32 {
        enlargePipeBuffer(0)
        enlargePipeBuffer(1)
        let channel: Channel
        do {
            channel = try attachStandardStreams()
        } catch {
            exitPromise.fail(error)
            throw ConfigurationError("cannot use stdin and stdout as the daemon's pipes: \(error) (a worker is started by the MultiLangDaemon with pipes)")
        }
        _ = channel
        try eventLoop.submit {
            if SystemdNotifier.isEnabled {
                self.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in self.reportStatus() }
            }
            self.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { _ in self.checkStuck() }
        }.wait()
        startControlSocket()
        return try exitPromise.futureResult.wait()
    }

    private func attachStandardStreams() throws -> Channel {
        try NIOPipeBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            // processRecords lines run to megabytes: read as much of the (enlarged) pipe as is there.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: 1024 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    self.pipe = channel  // before the first line can arrive
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineDecoder(maximumLength: self.configuration.maximumLineLength)))
                    try channel.pipeline.syncOperations.addHandler(StdinHandler(delegate: self))
                }
            }
            .takingOwnershipOfDescriptors(input: 0, output: 1)
            .wait()
    }

    /// Opens `<control>/worker-<pid>.sock`: `status` and `metrics` for `shardflow status` and the
    /// metrics endpoint. A worker without one still works; it only cannot be looked at.
    private func startControlSocket() {
        guard let directory = configuration.controlDirectory else { return }
        let path = "\(directory)/worker-\(getpid()).sock"
        let started = ControlServer.start(at: path, on: eventLoop, transport: configuration.transport, logger: logger) { request in
            switch request {
            case "metrics": self.observability.exposition(self.machine, now: self.eventLoop.now)
            case "status": self.observability.status(self.machine, now: self.eventLoop.now)
            default: "# unknown request \(request): ask status or metrics\n"
            }
        }
        do {
            _ = try started.wait()
            controlPath = path
        } catch {
            logger.warning("no control socket (\(path)): \(error); `shardflow status` and the metrics endpoint will not see this shard")
        }
    }

    private func checkStuck() {
        if let message = observability.stuckMessage(machine, now: eventLoop.now) {
            logger.warning("\(message)", metadata: ["shard.id": "\(machine.shardId ?? "-")"])
        }
    }

    /// Sends `STATUS=stream=… shard=… records=… incomplete=…` (read by the launcher).
    private func reportStatus() {
        guard let shardId = machine.shardId else { return }
        SystemdNotifier.status("stream=\(configuration.machine.stream) shard=\(shardId) records=\(machine.nextRecordIndex) incomplete=\(machine.incompleteRecordCount)")
    }

    // MARK: LineInputDelegate (stdin)

    func lineReceived(_ line: ByteBuffer) {
        lineNumber += 1
        guard line.readableBytes > 0 else { return }
        let now = eventLoop.now
        do {
            switch try DaemonLine.parse(line, firstIndex: machine.nextRecordIndex) {
            case .processRecords(let records, let millisBehindLatest):
                observability.recordsReceived(first: machine.nextRecordIndex, count: records.count, millisBehindLatest: millisBehindLatest, now: now)
                run(machine.processRecordsReceived(records, now: now))
            case .message(let message):
                run(machine.messageReceived(message, now: now))
            }
        } catch {
            var error = error
            error.lineNumber = lineNumber
            run(machine.invalidLineReceived(error))
        }
        flushOutput()
    }

    func inputClosed() {
        run(machine.inputClosed())
        flushOutput()
    }

    func inputFailed(_ error: Error) {
        logger.error("stdin/stdout failed: \(error)")
        finish(code: 1)
    }

    // MARK: ConnectionDelegate (the router)

    func connectionDidBecomeActive(_ connection: Connection) {
        run(machine.connectionOpened(connection.id))
        registry.flush()
    }

    func connection(_ connection: Connection, didReceive frame: Frame) {
        if case .hello(let hello) = frame { connection.peer = "\(hello.role) \(hello.index)" }
        if case .acks(let acks) = frame { observability.acksReceived(acks, now: eventLoop.now) }
        run(machine.frameReceived(frame, from: connection.id, now: eventLoop.now))
        if case .acks = frame { observability.release(below: machine.tracker.firstIndex) }
        flushOutput()
    }

    func connectionDidCompleteRead(_ connection: Connection) {
        registry.flush()
    }

    func connectionDidClose(_ connection: Connection) {
        registry.remove(connection.id)
        connector?.connectionClosed(connection)
        run(machine.connectionClosed(connection.id, now: eventLoop.now))
        flushOutput()
    }

    // MARK: Actions

    private func run(_ actions: [WorkerStateMachine.Action]) {
        for action in actions {
            switch action {
            case .writeLine(let message):
                MLDEncoder.encode(message, into: &stdoutBuffer)
            case .connect(let shardId):
                connect(shardId: shardId)
            case .send(let id, let frame):
                registry.send(frame, to: id)
            case .close(let id, let error):
                registry.close(id, with: error)
            case .scheduleTimer(let deadline):
                timer?.cancel()
                timer = deadline.map { deadline in
                    eventLoop.scheduleTask(deadline: deadline) {
                        self.run(self.machine.timerFired(now: self.eventLoop.now))
                        self.flushOutput()
                    }
                }
            case .report(let event):
                report(event)
            case .exit(let code):
                flushOutput()
                finish(code: code)
            }
        }
    }

    /// Whether `.connect` dials the router sockets (tests attach an `EmbeddedChannel` instead,
    /// with ``attachRouter(_:)``).
    var dialsRouters = true

    /// Adopts a channel connected to a router (how tests connect an `EmbeddedChannel`).
    func attachRouter(_ channel: Channel) throws {
        try registry.attach(channel, peer: "router", transport: configuration.transport, delegate: self, logger: logger)
    }

    /// Starts connecting to a router: the shard's hash picks the first, so a host's shards
    /// spread over its routers.
    private func connect(shardId: String) {
        guard dialsRouters else { return }
        let first = Int(Partitioner.hash(Array(shardId.utf8)) % UInt64(configuration.routerSockets.count))
        let connector = Connector(
            paths: configuration.routerSockets, startingAt: first, label: "router", eventLoop: eventLoop,
            transport: configuration.transport, registry: registry, delegate: self, logger: logger
        ) { _ in }
        self.connector = connector
        connector.start()
    }

    /// Writes what is pending for the daemon (stdout) and the router.
    private func flushOutput() {
        registry.flush()
        guard stdoutBuffer.readableBytes > 0, let pipe else { return }
        let bytes = stdoutBuffer
        stdoutBuffer = ByteBuffer()
        pipe.writeAndFlush(bytes).whenFailure { error in
            self.logger.error("cannot write to stdout (the daemon is gone?): \(error)")
            self.finish(code: 1)
        }
    }

    private func finish(code: Int32) {
        guard !finished else { return }
        finished = true
        reportStatus()
        // The launcher merges every worker's item latencies into the run's percentiles.
        if observability.latencyHistogram.count > 0 {
            SystemdNotifier.notify("SHARDFLOW_LATENCY=\(observability.latencyHistogram.encoded)")
        }
        timer?.cancel()
        connector?.stop()
        if let controlPath { unlink(controlPath) }
        let exitPromise = self.exitPromise
        let done: @Sendable () -> Void = { exitPromise.succeed(code) }
        if let pipe {
            pipe.writeAndFlush(ByteBuffer()).whenComplete { _ in done() }
        } else {
            done()
        }
    }

    private func report(_ event: WorkerStateMachine.Event) {
        let shard: Logger.Metadata = ["shard.id": "\(machine.shardId ?? "-")"]
        switch event {
        case .initialized(let shardId, let checkpoint):
            observability.initialized(stream: configuration.machine.stream, shard: shardId)
            logger.info("initialized for \(shardId) at \(checkpoint ?? "no checkpoint")", metadata: shard)
        case .checkpointed(let position):
            observability.checkpointed(position)
            logger.debug("checkpointed at \(position.map(\.description) ?? "the latest record (null)")", metadata: shard)
        case .checkpointRetrying(let error, let attempt, let delay):
            observability.checkpointRefused(error)
            logger.warning("checkpoint attempt \(attempt) got \(error); retrying in \(delay.prettyDescription)", metadata: shard)
        case .checkpointFailed(let error, let position):
            observability.checkpointRefused(error)
            logger.error("checkpoint at \(position.map(\.description) ?? "null") failed with \(error); not retried now", metadata: shard)
        case .checkpointingStopped:
            logger.warning("ShutdownException: the lease is gone; no more checkpoints until the shutdown message", metadata: shard)
        case .backpressureApplied(let incomplete, let held):
            logger.info("\(incomplete) records incomplete, \(held) held: holding the status until fewer than \(configuration.machine.lowWater) are incomplete and fewer than \(configuration.machine.maxHeld / 2) held", metadata: shard)
        case .heldBehind(let oldest, let held):
            let position = machine.oldestIncomplete.map { " at \($0.position)" } ?? ""
            logger.warning("\(held) records held since record #\(oldest)\(position), which is still incomplete: holding the status until it completes (the checkpoint cannot pass it; records after it stay in memory)", metadata: shard)
        case .backpressureReleased(let incomplete, let held):
            logger.info("backpressure released at \(incomplete) incomplete and \(held) held records", metadata: shard)
        case .recordFailed(let record, let attempt, let delay):
            logger.warning("record #\(record) failed (attempt \(attempt)); resending in \(delay.prettyDescription)", metadata: shard)
        case .ackIgnored(let record, let reason):
            logger.warning("ignored an acknowledgement for record #\(record): \(reason)", metadata: shard)
        case .redelivering(let records, let reason):
            logger.info("resending \(records) incomplete records: \(reason)", metadata: shard)
        case .leaseLost:
            logger.info("lease lost; not checkpointing", metadata: shard)
        case .shardEnded:
            logger.info("shard ended; checkpointing once every record is complete", metadata: shard)
        case .invalidLine(let description):
            logger.critical("the daemon sent a line this worker cannot process: \(description); exiting with status 1 (the daemon restarts the shard from its last checkpoint)", metadata: shard)
        case .protocolViolation(let description):
            logger.error("protocol violation: \(description)", metadata: shard)
        case .unexpectedEndOfInput:
            logger.warning("stdin closed before the exchange ended; exiting", metadata: shard)
        case .link(.connected(let router)):
            logger.info("connected to router \(router)", metadata: shard)
        case .link(.draining(let reason)):
            logger.info("the router is draining (\(reason)); waiting for its acknowledgements before moving on", metadata: shard)
        case .link(.routerError(let code, let message)):
            logger.error("the router sent error \(code): \(message)", metadata: shard)
        case .link(.refused(let reason)):
            logger.error("closed the router connection: \(reason)", metadata: shard)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
