import DequeModule
import Logging
import NIOCore
import NIOPosix

/// The daemon side of the MultiLangDaemon protocol for one shard of the local source (the child
/// side is the worker): starts the shard's worker process, sends `initialize`, the shard's
/// `processRecords` batches and finally `shardEnded` (or `shutdownRequested` when stopping),
/// answers checkpoint requests and stores accepted checkpoints, performing what its
/// ``DaemonSessionStateMachine`` decides. Confined to the launcher's event loop.
final class DaemonSessionDriver: @unchecked Sendable {
    enum Phase: Equatable {
        case starting
        case running
        /// Graceful stop requested: `shutdownRequested` goes out at the next opportunity.
        case stopping
        /// The final status arrived; the worker's stdin is closed and its exit awaited.
        case closing
        case exited
        case failed
    }

    struct Callbacks {
        /// Store an accepted checkpoint durably (throws when it cannot).
        var persist: (String, Checkpoint) throws -> Void
        /// A batch left the queue (the reader may produce another).
        var batchConsumed: (Int) -> Void
        /// The worker exited after the exchange ended (or after a failure was reported).
        var finished: (DaemonSessionDriver) -> Void
        /// The exchange broke; the Java daemon would exit here. `counts` is false when the worker
        /// was killed from outside (see ``ProcessTermination/isSelfInflicted``).
        var failed: (DaemonSessionDriver, String, _ counts: Bool) -> Void
    }

    let index: Int
    let shardId: String
    private(set) var phase = Phase.starting
    private var session: DaemonSessionStateMachine
    private var queue: Deque<SourcePump.Batch> = []
    private var inputComplete = false
    private(set) var child: ChildProcess?
    private var channel: Channel?
    private let eventLoop: EventLoop
    private let logger: Logger
    private let callbacks: Callbacks
    private(set) var recordsDelivered = 0
    private(set) var lastCheckpoint: Checkpoint?
    private(set) var ended = false
    /// The launcher started the source: `initialize` may go out.
    private var begun = false
    private var initialized = false

    init(index: Int, checkpoint: Checkpoint?, eventLoop: EventLoop, logger: Logger, callbacks: Callbacks) {
        self.index = index
        self.shardId = DaemonSessionDriver.shardId(index)
        self.session = DaemonSessionStateMachine(shardId: shardId, checkpoint: checkpoint)
        self.lastCheckpoint = checkpoint
        self.eventLoop = eventLoop
        self.logger = logger
        self.callbacks = callbacks
    }

    /// Test hook: errors for the next checkpoint requests (e.g. `ThrottlingException`).
    func injectCheckpointErrors(_ errors: [CheckpointError]) {
        session.injectedCheckpointErrors = errors
    }

    /// Starts the worker with `arguments` (from `executable` when given) and attaches to its
    /// pipes; `initialize` waits for ``begin()``, so the worker can start while the rest of the
    /// group does.
    func spawn(arguments: [String], executable: String? = nil, environment: [String: String]) throws {
        let child = try ChildProcess.spawn(
            arguments, executable: executable, environment: environment, stdin: .pipe, stdout: .pipe, stderr: .inherit, newProcessGroup: true)
        self.child = child
        let stdinOfChild = child.stdinDescriptor!
        let stdoutOfChild = child.stdoutDescriptor!
        NIOPipeBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maximumLength: 64 * 1024 * 1024)))
                    try channel.pipeline.syncOperations.addHandler(WorkerOutputHandler(driver: self))
                }
            }
            .takingOwnershipOfDescriptors(input: stdoutOfChild, output: stdinOfChild)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.channel = channel
                    self.initializeIfReady()
                case .failure(let error):
                    self.fail("cannot attach to the worker's pipes: \(error)")
                }
            }
    }

    /// The exchange may start: `initialize` goes out once the worker's pipes are attached.
    func begin() {
        begun = true
        initializeIfReady()
    }

    private func initializeIfReady() {
        guard begun, !initialized, channel != nil else { return }
        initialized = true
        // A stop requested meanwhile is kept: it goes out after `initialize` is answered.
        if phase == .starting { phase = .running }
        write(session.initialize())
    }

    /// A batch of this shard's records is ready.
    func enqueue(_ batch: SourcePump.Batch) {
        queue.append(batch)
        advance()
    }

    /// The source has no more records for this shard.
    func inputEnded() {
        inputComplete = true
        advance()
    }

    /// Graceful stop: hand the shard back with `shutdownRequested` (the worker checkpoints what
    /// is complete), then close the worker's stdin.
    func requestStop() {
        switch phase {
        case .starting, .running:
            phase = .stopping
            advance()
        case .stopping, .closing, .exited, .failed:
            break
        }
    }

    /// Stops the worker at once (SIGKILL to it and whatever it started), e.g. when the whole
    /// source restarts or the drain deadline passed. What it had not checkpointed is processed
    /// again from the stored checkpoint.
    func kill() {
        channel?.close(promise: nil)
        if phase != .exited { child?.sendToGroup(signal: SIGKILL) }
    }

    /// The worker process ended (from the launcher's reaper).
    func childExited(_ termination: ChildProcess.Termination) {
        let wasClosing = phase == .closing
        phase = .exited
        channel?.close(promise: nil)
        if wasClosing, termination.isSuccess {
            callbacks.finished(self)
        } else if wasClosing {
            logger.warning("worker for \(shardId) \(termination) after its final status")
            callbacks.finished(self)
        } else {
            let when = begun ? "before its shard ended" : "before the source started"
            callbacks.failed(self, "worker for \(shardId) \(termination) \(when)", termination.isSelfInflicted)
        }
    }

    // MARK: Protocol

    func lineReceived(_ line: ByteBuffer) {
        for action in session.lineReceived(line.readableBytesView) {
            switch action {
            case .persist(let checkpoint):
                do {
                    try callbacks.persist(shardId, checkpoint)
                    lastCheckpoint = checkpoint
                } catch {
                    logger.error("cannot store the checkpoint of \(shardId): \(error)")
                    // The reply that follows reports success; answer with the dependency error instead.
                    write(.checkpoint(sequenceNumber: nil, subSequenceNumber: nil, error: .dependency))
                    return
                }
            case .reply(let message):
                write(message)
            case .completed(let action):
                completed(action)
            case .skipLine(let reason):
                logger.info("skipping unexpected line from the worker for \(shardId): \(reason)")
            case .fail(let reason):
                fail(reason)
            }
        }
    }

    private func completed(_ action: MLDAction) {
        switch action {
        case .shardEnded:
            ended = true
            closeWorkerInput()
        case .shutdownRequested, .leaseLost, .shutdown:
            closeWorkerInput()
        case .initialize, .processRecords, .checkpoint, .status:
            advance()
        }
    }

    /// Sends the next message if the worker is free for one.
    private func advance() {
        guard session.isReady, channel != nil else { return }
        switch phase {
        case .stopping:
            write(session.sending(.shutdownRequested))
        case .running:
            if let batch = queue.popFirst() {
                session.sendingProcessRecords(lastPosition: batch.lastPosition)
                recordsDelivered += batch.count
                channel?.writeAndFlush(batch.line, promise: nil)
                callbacks.batchConsumed(index)
            } else if inputComplete {
                write(session.sending(.shardEnded))
            }
        case .starting, .closing, .exited, .failed:
            break
        }
    }

    private func closeWorkerInput() {
        phase = .closing
        channel?.close(mode: .output, promise: nil)
    }

    private func write(_ message: DaemonMessage) {
        var buffer = ByteBuffer()
        MLDEncoder.encode(message, into: &buffer)
        channel?.writeAndFlush(buffer, promise: nil)
    }

    func fail(_ reason: String) {
        guard phase != .failed, phase != .exited else { return }
        phase = .failed
        callbacks.failed(self, reason, true)
    }

    func outputClosed() {
        switch phase {
        case .starting, .running, .stopping:
            // The worker closed its stdout without the exchange ending; its exit follows.
            logger.debug("worker for \(shardId) closed its stdout")
        case .closing, .exited, .failed:
            break
        }
    }
}

extension DaemonSessionDriver {
    /// `shardId-` and the index in 12 digits, as Kinesis names shards.
    static func shardId(_ index: Int) -> String {
        let digits = String(index)
        return "shardId-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }
}

#if canImport(Glibc)
import Glibc
#endif
