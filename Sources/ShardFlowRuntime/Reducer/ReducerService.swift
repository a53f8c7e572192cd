import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Runs a ``ReducerStateMachine`` over a listening socket, with the processor on its own
/// thread so processing never blocks the reducer's I/O.
public final class ReducerService: ConnectionDelegate, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var listen: ListenAddress
        public var transport = TransportConfiguration()
        public var machine: ReducerStateMachine.Configuration
        /// Directory of the dead-letter sink (none: failed items are acknowledged `failed`).
        public var deadLetterDirectory: String?
        /// A batch the processor has been working on for this long is reported as stuck (an
        /// `exec:` processor is killed at this point by its own timeout).
        public var processorTimeout: TimeAmount = ExecProcessor.defaultTimeout
        /// Where the control socket goes (`status`, `metrics`); nil: none.
        public var controlDirectory: String?
        /// A key failing this long is named in the log.
        public var stuckAfter: TimeAmount = ProcessingDefaults.stuckAfter

        public init(index: UInt32, listen: ListenAddress) {
            self.listen = listen
            self.machine = ReducerStateMachine.Configuration(index: index, instance: UInt64.random(in: .min ... .max))
        }
    }

    private let configuration: Configuration
    private let eventLoop: EventLoop
    let registry: ConnectionRegistry
    private var machine: ReducerStateMachine
    private let processor: ProcessorBox
    /// The processor runs on the event loop (``BatchProcessor/isNonBlocking``), not on the
    /// processor thread.
    private let processesOnEventLoop: Bool
    private let deadLetterSink: DeadLetterSink?
    private let executor: any BlockingExecutor
    private let logger: Logger
    private var listener: Channel?
    private var timer: Scheduled<Void>?
    private var drainPromise: EventLoopPromise<Void>?
    private let rate = RateMeter()
    private let observability: ReducerObservability

    public convenience init(configuration: Configuration, processor: BatchProcessor, eventLoop: EventLoop, logger: Logger) throws {
        try self.init(configuration: configuration, processor: processor, executor: ThreadExecutor(eventLoop: eventLoop), logger: logger)
    }

    init(configuration: Configuration, processor: BatchProcessor, executor: any BlockingExecutor, logger: Logger) throws {
        let eventLoop = executor.eventLoop
        var configuration = configuration
        configuration.machine.hasDeadLetterSink = configuration.deadLetterDirectory != nil
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.registry = ConnectionRegistry(eventLoop: eventLoop)
        self.machine = ReducerStateMachine(configuration: configuration.machine)
        self.processor = ProcessorBox(processor)
        self.processesOnEventLoop = processor.isNonBlocking
        self.deadLetterSink = try configuration.deadLetterDirectory.map {
            try DeadLetterSink(directory: $0, reducerIndex: Int(configuration.machine.index))
        }
        self.logger = logger
        self.executor = executor
        self.observability = ReducerObservability(index: configuration.machine.index, stuckAfter: configuration.stuckAfter)
    }

    public func start() -> EventLoopFuture<Void> {
        UnixListener.start(
            at: configuration.listen, on: eventLoop, transport: configuration.transport,
            registry: registry, delegate: self, logger: logger
        ).flatMap { channel in
            self.listener = channel
            self.logger.info("reducer \(self.configuration.machine.index) listening on \(self.configuration.listen)")
            self.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { _ in
                for line in self.observability.stuckMessages(self.machine, now: self.eventLoop.now) { self.logger.warning("\(line)") }
            }
            return self.startControlSocket()
        }
    }

    private func startControlSocket() -> EventLoopFuture<Void> {
        guard let directory = configuration.controlDirectory else { return eventLoop.makeSucceededVoidFuture() }
        return ControlServer.start(
            at: "\(directory)/reducer-\(configuration.machine.index).sock", on: eventLoop, transport: configuration.transport, logger: logger
        ) { request in
            let restarts = self.processor.value.restarts
            switch request {
            case "metrics": return self.observability.exposition(self.machine, processorRestarts: restarts)
            case "status": return self.observability.status(self.machine, processorRestarts: restarts, now: self.eventLoop.now)
            default: return "# unknown request \(request): ask status or metrics\n"
            }
        }.map { _ in }
    }

    /// Processes what is queued (without waiting for the batch timeout), then stops.
    public func drain(reason: String) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.listener?.close(promise: nil)
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.drainPromise = promise
            self.run(self.machine.drain(now: self.eventLoop.now))
            self.completeDrainIfIdle()
            return promise.futureResult.flatMap {
                self.executor.run { try self.processor.value.close() }
            }
        }
    }

    /// A one-line status (call on the event loop).
    public var status: String {
        eventLoop.preconditionInEventLoop()
        let rate = Int(self.rate.perSecond(total: machine.itemsProcessed))
        return "mappers=\(machine.mapperCount) items=\(machine.itemsProcessed) items/s=\(rate) queued=\(machine.queuedItems) failed=\(machine.itemsFailed) retried=\(machine.itemsRetried) dead-lettered=\(machine.itemsDeadLettered) expired=\(machine.itemsExpired) held=\(machine.heldItems) held-keys=\(machine.heldKeys)"
    }

    // MARK: ConnectionDelegate

    /// Adopts an accepted channel (how tests connect an `EmbeddedChannel`).
    func attach(_ channel: Channel) throws {
        try registry.attach(channel, peer: "peer", transport: configuration.transport, delegate: self, logger: logger)
    }

    func connectionDidBecomeActive(_ connection: Connection) {
        run(machine.connectionOpened(connection.id))
        registry.flush()
    }

    func connection(_ connection: Connection, didReceive frame: Frame) {
        if case .hello(let hello) = frame { connection.peer = "\(hello.role) \(hello.index)" }
        run(machine.frameReceived(frame, from: connection.id, now: eventLoop.now, epochMilliseconds: Self.epochMilliseconds()))
    }

    func connectionDidCompleteRead(_ connection: Connection) {
        registry.flush()
    }

    func connectionDidClose(_ connection: Connection) {
        registry.remove(connection.id)
        run(machine.connectionClosed(connection.id, now: eventLoop.now))
        registry.flush()
    }

    // MARK: Actions

    private func run(_ actions: [ReducerStateMachine.Action]) {
        for action in actions {
            switch action {
            case .send(let id, let frame):
                registry.send(frame, to: id)
            case .close(let id, let error):
                registry.close(id, with: error)
            case .process(let batch):
                let started = eventLoop.now
                // An exec: child is killed at this point by its own timeout, and says so; any
                // other processor on the processor thread cannot be interrupted, so its stuck
                // batch is reported (one on the event loop would hold the report up itself).
                let watchdog = processesOnEventLoop || processor.value is ExecProcessor ? nil : eventLoop.scheduleRepeatedTask(
                    initialDelay: configuration.processorTimeout, delay: configuration.processorTimeout
                ) { [logger] _ in
                    let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
                    logger.warning("the processor has been working on a batch of \(batch.count) items for \(Int(seconds))s (first: shard \(String(buffer: batch[0].item.shardId)) sequence number \(String(buffer: batch[0].item.sequenceNumber))); its shards wait")
                }
                let processor = self.processor
                let logger = self.logger
                let work = { @Sendable () -> [Int: String] in
                    let items = batch.map { ProcessorItem($0.item) }
                    do {
                        let failures = try processor.value.process(items).failures
                        guard failures.keys.contains(where: { !batch.indices.contains($0) }) else { return failures }
                        // A position that names no item of the batch fails nothing.
                        let outside = failures.keys.filter { !batch.indices.contains($0) }.sorted()
                        logger.warning("the processor reported failures at positions \(outside) of a batch of \(batch.count) items; ignoring those positions")
                        return failures.filter { batch.indices.contains($0.key) }
                    } catch {
                        return Self.everyItem(of: batch, failed: "\(error)")
                    }
                }
                // A non-blocking processor runs as the event loop's next task: after the rest of
                // these actions, as a hand-off to the processor thread would, without the hand-off.
                let processed = processesOnEventLoop ? eventLoop.submit(work) : executor.run(work)
                processed.whenComplete { result in
                    watchdog?.cancel()
                    self.observability.batchDuration.recordNanoseconds((self.eventLoop.now - started).nanoseconds)
                    let failures = (try? result.get()) ?? Self.everyItem(of: batch, failed: "processor thread stopped")
                    self.run(self.machine.batchProcessed(batch, failures: failures, now: self.eventLoop.now))
                    self.registry.flush()
                    self.completeDrainIfIdle()
                }
            case .deadLetter(let items):
                writeDeadLetters(items)
            case .scheduleTimer(let deadline):
                timer?.cancel()
                timer = deadline.map { deadline in
                    eventLoop.scheduleTask(deadline: deadline) {
                        self.run(self.machine.timerFired(now: self.eventLoop.now))
                        self.registry.flush()
                    }
                }
            case .report(let event):
                report(event)
            }
        }
    }

    /// Failures naming every position of `batch`.
    private static func everyItem(of batch: [ReducerStateMachine.PendingItem], failed error: String) -> [Int: String] {
        Dictionary(uniqueKeysWithValues: batch.indices.map { ($0, error) })
    }

    private func writeDeadLetters(_ items: [ReducerStateMachine.PendingItem]) {
        guard let sink = deadLetterSink else { return }
        executor.run { try sink.write(items) }.whenComplete { result in
            switch result {
            case .success:
                self.logger.warning("\(items.count) items written to the dead-letter sink \(sink.path)")
                self.run(self.machine.deadLettered(items, now: self.eventLoop.now))
                self.registry.flush()
                self.completeDrainIfIdle()
            case .failure(let error):
                self.logger.error("cannot write \(items.count) items to the dead-letter sink: \(error); retrying in 1s")
                self.eventLoop.scheduleTask(in: .seconds(1)) { self.writeDeadLetters(items) }
            }
        }
    }

    private func report(_ event: ReducerStateMachine.Event) {
        switch event {
        case .mapperJoined(let index):
            logger.info("mapper \(index) connected")
        case .mapperLeft(let index, let dropped):
            logger.info("mapper \(index) disconnected\(dropped > 0 ? "; \(dropped) unprocessed items dropped (their workers resend)" : "")")
        case .retrying(let items, let heldBack, let attempt, let delay, let error):
            let waiting = heldBack > 0 ? " (with \(heldBack) later items of their keys; other keys go on)" : ""
            logger.warning("\(items) items failed (attempt \(attempt)): \(error); retrying in \(delay.prettyDescription)\(waiting)")
        case .expired(let items):
            logger.warning("\(items) items are older than --max-record-age: dead-lettering them as expired")
        case .gaveUp(let items, let error, let deadLettered):
            logger.error("\(items) items failed for good: \(error); \(deadLettered ? "dead-lettering them" : "acknowledging them failed so their shard waits and resends")")
        case .acksDropped(let count):
            logger.debug("dropped \(count) acknowledgements for disconnected mappers")
        case .refused(let id, let reason):
            logger.warning("refused \(registry[id]?.description ?? "connection \(id)"): \(reason)")
        }
    }

    /// The wall clock, epoch milliseconds (records' arrival timestamps are wall-clock times).
    static func epochMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    private func completeDrainIfIdle() {
        guard let promise = drainPromise, machine.isIdle else { return }
        drainPromise = nil
        promise.succeed()
    }
}
