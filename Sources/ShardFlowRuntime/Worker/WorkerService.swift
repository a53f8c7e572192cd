import DequeModule
import Logging
import NIOCore
import NIOPosix

/// The worker process: a MultiLangDaemon child for one shard. Reads the daemon's JSON lines on
/// stdin, answers on stdout, sends records to a router in batches within the router's credit,
/// keeps every record until it is complete, and lets ``WorkerStateMachine`` decide when to
/// checkpoint and answer.
public final class WorkerService: ConnectionDelegate, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Router sockets; the worker uses one and moves to the next when it fails.
        public var routerSockets: [String]
        public var transport = TransportConfiguration()
        public var machine = WorkerStateMachine.Configuration()
        /// Longest line accepted on stdin.
        public var maximumLineLength = 256 * 1024 * 1024
        /// Most records per RECORDS frame.
        public var maximumBatchRecords = 4096
        /// Target bytes per RECORDS frame.
        public var maximumBatchBytes = 4 * 1024 * 1024

        public init(routerSockets: [String]) {
            self.routerSockets = routerSockets
        }
    }

    private let configuration: Configuration
    private let eventLoop: EventLoop
    private let registry: ConnectionRegistry
    private var machine: WorkerStateMachine
    private let logger: Logger
    private var store = RecordStore()
    private var sendQueue: Deque<UInt64> = []
    private var link = RouterLink()
    private var connector: Connector?
    private var pipe: Channel?
    private var stdoutBuffer = ByteBuffer()
    private var timer: Scheduled<Void>?
    private var lineNumber = 0
    private let exitPromise: EventLoopPromise<Int32>

    public init(configuration: Configuration, eventLoop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.registry = ConnectionRegistry(eventLoop: eventLoop)
        self.machine = WorkerStateMachine(configuration: configuration.machine, now: .now())
        self.logger = logger
        self.exitPromise = eventLoop.makePromise(of: Int32.self)
    }

    /// Takes over stdin and stdout and runs until the exchange ends; returns the exit code.
    public func run() throws -> Int32 {
        enlargePipeBuffer(0)
        enlargePipeBuffer(1)
        let channel = try NIOPipeBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            // processRecords lines run to megabytes: read as much of the (enlarged) pipe as is there.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: 1024 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    self.pipe = channel  // before the first line can arrive
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineDecoder(maximumLength: self.configuration.maximumLineLength)))
                    try channel.pipeline.syncOperations.addHandler(StdinHandler(service: self))
                }
            }
            .takingOwnershipOfDescriptors(input: 0, output: 1)
            .wait()
        _ = channel
        try eventLoop.submit {
            if SystemdNotifier.isEnabled {
                self.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in self.reportStatus() }
            }
        }.wait()
        return try exitPromise.futureResult.wait()
    }

    /// Sends `STATUS=shard=… records=… incomplete=…` (read by the launcher).
    private func reportStatus() {
        guard let shardId = machine.shardId else { return }
        SystemdNotifier.status("shard=\(shardId) records=\(machine.nextRecordIndex) incomplete=\(machine.incompleteRecordCount)")
    }

    // MARK: stdin

    fileprivate func lineReceived(_ line: ByteBuffer) {
        lineNumber += 1
        guard line.readableBytes > 0 else { return }
        let now = NIODeadline.now()
        var batch = ByteBufferAllocator().buffer(capacity: line.readableBytes)
        var offsets: [Int] = []
        var sequences: [(length: Int, sub: Int64?)] = []
        let base = machine.nextRecordIndex
        let parsed: Result<MLDDecoder.Parsed, MLDError> = line.withUnsafeReadableBytes { raw in
            Result { () throws(MLDError) -> MLDDecoder.Parsed in
                try MLDDecoder.parseDaemonMessage(raw) { (view: MLDRecordView) throws(MLDError) in
                    offsets.append(batch.writerIndex)
                    do throws(Base64.DecodingError) {
                        try WireRecord.append(
                            index: base + UInt64(sequences.count),
                            subSequenceNumber: view.subSequenceNumber.map { UInt64($0) },
                            arrivalTimestamp: view.approximateArrivalTimestamp,
                            sequenceNumber: view.sequenceNumber,
                            partitionKey: view.partitionKey,
                            base64Data: view.base64Data,
                            to: &batch)
                    } catch {
                        throw MLDError(.invalidField(field: "data", reason: error.description))
                    }
                    sequences.append((view.sequenceNumber.count, view.subSequenceNumber))
                }
            }
        }
        switch parsed {
        case .success(.processRecords):
            offsets.append(batch.writerIndex)
            var positions: [SequencePosition] = []
            positions.reserveCapacity(sequences.count)
            for (record, sequence) in sequences.enumerated() {
                store.append(batch.getSlice(at: offsets[record], length: offsets[record + 1] - offsets[record])!)
                // The digits stay inside the encoded record: no copy per record.
                let digits = batch.getSlice(at: offsets[record] + WireRecord.fixedHeaderSize + 1, length: sequence.length)!
                positions.append(SequencePosition(sequenceNumber: SequenceNumber(validatedDigits: digits), subSequenceNumber: sequence.sub))
            }
            run(machine.processRecordsReceived(positions, now: now))
        case .success(.message(let message)):
            let wasInitialized = machine.shardId != nil
            run(machine.messageReceived(message, now: now))
            if !wasInitialized, machine.shardId != nil { connectToRouter() }
        case .failure(var error):
            error.lineNumber = lineNumber
            run(machine.invalidLineReceived(error))
        }
        flushStdout()
    }

    fileprivate func inputClosed() {
        run(machine.inputClosed())
        flushStdout()
    }

    fileprivate func pipeFailed(_ error: Error) {
        logger.error("stdin/stdout failed: \(error)")
        finish(code: 1)
    }

    // MARK: Router link

    private func connectToRouter() {
        let shardId = machine.shardId ?? "unknown"
        let first = Int(Partitioner.hash(Array(shardId.utf8)) % UInt64(configuration.routerSockets.count))
        let connector = Connector(
            paths: configuration.routerSockets, startingAt: first, label: "router", eventLoop: eventLoop,
            transport: configuration.transport, registry: registry, delegate: self, logger: logger
        ) { _ in }
        self.connector = connector
        connector.start()
    }

    func connectionDidBecomeActive(_ connection: Connection) {
        link = RouterLink(connection: connection.id)
        registry.write(to: connection.id) { encoder in
            encoder.hello(Hello(role: .worker, index: 0, instance: UInt64.random(in: .min ... .max), name: machine.shardId ?? "unknown"))
        }
        registry.flush()
    }

    func connection(_ connection: Connection, didReceive frame: Frame) {
        guard link.connection == connection.id else { return }
        let now = NIODeadline.now()
        switch frame {
        case .hello(let hello):
            guard hello.role == .router, hello.version == Hello.currentVersion else {
                logger.error("\(connection) answered with \(hello.role) version \(hello.version), not a router speaking version \(Hello.currentVersion)")
                connection.close(with: ErrorFrame(code: .roleRejected, message: "expected a router"))
                return
            }
            connection.peer = "router \(hello.index)"
            link.ready = true
            logger.info("connected to router \(hello.index)", metadata: ["shard.id": "\(machine.shardId ?? "")"])
        case .credit(let credit):
            link.credit.count &+= credit.count
            link.credit.bytes &+= credit.bytes
            pump()
        case .acks(let acks):
            run(machine.acksReceived(acks, now: now))
            store.release(below: machine.firstHeldRecordIndex)
        case .peerLost(let lost):
            run(machine.pathBroken(reason: "\(lost.role) \(lost.index) lost: \(lost.reason)", now: now))
        case .drain(let drain):
            logger.info("\(connection) is draining (\(drain.reason)); waiting for its acknowledgements before moving on")
            link.draining = true
        case .error(let error):
            logger.error("\(connection) sent error \(error.rawCode): \(error.message)")
        case .records, .routedRecords, .items:
            connection.close(with: ErrorFrame(code: .protocolViolation, message: "unexpected \(frame.type) for a worker"))
        }
        flushStdout()
    }

    func connectionDidCompleteRead(_ connection: Connection) {
        registry.flush()
    }

    func connectionDidClose(_ connection: Connection) {
        registry.remove(connection.id)
        guard link.connection == connection.id else { return }
        link = RouterLink()
        for index in sendQueue { store.setQueued(index, false) }
        sendQueue.removeAll()
        connector?.connectionClosed(connection)
        run(machine.pathBroken(reason: "router connection closed", now: .now()))
        flushStdout()
    }

    /// Sends queued records within the router's credit.
    private func pump() {
        guard link.ready, !link.draining, let id = link.connection else { return }
        // One copy of the state machine for the whole pump, not one per record: completion
        // only changes when acknowledgements arrive, never while pumping.
        let machine = self.machine
        while link.credit.count > 0, link.credit.bytes > 0, !sendQueue.isEmpty {
            registry.write(to: id) { encoder in
                encoder.beginRecords()
                while let index = sendQueue.first, link.credit.count > 0, link.credit.bytes > 0,
                      encoder.batchCount < configuration.maximumBatchRecords,
                      encoder.batchBytes < configuration.maximumBatchBytes {
                    sendQueue.removeFirst()
                    store.setQueued(index, false)
                    guard !machine.isComplete(index), let record = store[index] else { continue }
                    encoder.appendEncodedRecord(record)
                    link.credit.count -= 1
                    let size = UInt64(record.readableBytes)
                    link.credit.bytes = link.credit.bytes > size ? link.credit.bytes - size : 0
                }
                encoder.endBatch()
            }
        }
        registry.flush()
    }

    private func enqueue(_ indices: some Sequence<UInt64>) {
        for index in indices where store.contains(index) && !store.isQueued(index) {
            store.setQueued(index, true)
            sendQueue.append(index)
        }
    }

    // MARK: Actions

    private func run(_ actions: [WorkerStateMachine.Action]) {
        for action in actions {
            switch action {
            case .send(let message):
                MLDEncoder.encode(message, into: &stdoutBuffer)
            case .dispatch(let range):
                enqueue(range)
                pump()
            case .resend(let indices):
                enqueue(indices)
                pump()
            case .scheduleTimer(let deadline):
                timer?.cancel()
                timer = deadline.map { deadline in
                    eventLoop.scheduleTask(deadline: deadline) {
                        self.run(self.machine.timerFired(now: .now()))
                        self.flushStdout()
                    }
                }
            case .report(let event):
                report(event)
            case .exit(let code):
                flushStdout()
                finish(code: code)
            }
        }
    }

    private func flushStdout() {
        guard stdoutBuffer.readableBytes > 0, let pipe else { return }
        let bytes = stdoutBuffer
        stdoutBuffer = ByteBuffer()
        pipe.writeAndFlush(bytes).whenFailure { error in
            self.logger.error("cannot write to stdout (the daemon is gone?): \(error)")
            self.finish(code: 1)
        }
    }

    private var finished = false

    private func finish(code: Int32) {
        guard !finished else { return }
        finished = true
        reportStatus()
        timer?.cancel()
        connector?.stop()
        let exitPromise = self.exitPromise
        let done: @Sendable () -> Void = { exitPromise.succeed(code) }
        if let pipe {
            pipe.writeAndFlush(ByteBuffer()).whenComplete { _ in done() }
        } else {
            done()
        }
    }

    private func report(_ event: WorkerStateMachine.WorkerEvent) {
        let shard: Logger.Metadata = ["shard.id": "\(machine.shardId ?? "-")"]
        switch event {
        case .initialized(let shardId, let checkpoint):
            logger.info("initialized for \(shardId) at \(checkpoint ?? "no checkpoint")", metadata: shard)
        case .checkpointed(let position):
            logger.debug("checkpointed at \(position.map(\.description) ?? "the latest record (null)")", metadata: shard)
        case .checkpointRetrying(let error, let attempt, let delay):
            logger.warning("checkpoint attempt \(attempt) got \(error); retrying in \(delay.prettyDescription)", metadata: shard)
        case .checkpointFailed(let error, let position):
            logger.error("checkpoint at \(position.map(\.description) ?? "null") failed with \(error); not retried now", metadata: shard)
        case .checkpointingStopped:
            logger.warning("ShutdownException: the lease is gone; no more checkpoints until the shutdown message", metadata: shard)
        case .backpressureApplied(let incomplete):
            logger.info("\(incomplete) records incomplete: holding the status until below \(configuration.machine.lowWater)", metadata: shard)
        case .backpressureReleased(let incomplete):
            logger.info("backpressure released at \(incomplete) incomplete records", metadata: shard)
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
            logger.error("skipped an invalid line from the daemon: \(description)", metadata: shard)
        case .protocolViolation(let description):
            logger.error("protocol violation: \(description)", metadata: shard)
        case .unexpectedEndOfInput:
            logger.warning("stdin closed before the exchange ended; exiting", metadata: shard)
        }
    }
}

/// The worker's connection to its router.
private struct RouterLink {
    var connection: ConnectionID?
    var ready = false
    var draining = false
    var credit = Credit(count: 0, bytes: 0)
}

/// The encoded bytes of every record not yet released, by record index.
struct RecordStore {
    private struct Entry {
        var bytes: ByteBuffer
        var queued = false
    }

    private var base: UInt64 = 0
    private var entries: Deque<Entry> = []

    mutating func append(_ bytes: ByteBuffer) {
        entries.append(Entry(bytes: bytes))
    }

    func contains(_ index: UInt64) -> Bool { index >= base && index < base + UInt64(entries.count) }

    subscript(index: UInt64) -> ByteBuffer? {
        contains(index) ? entries[Int(index - base)].bytes : nil
    }

    func isQueued(_ index: UInt64) -> Bool { contains(index) && entries[Int(index - base)].queued }

    mutating func setQueued(_ index: UInt64, _ queued: Bool) {
        guard contains(index) else { return }
        entries[Int(index - base)].queued = queued
    }

    /// Drops records below `index` (complete, behind the safe checkpoint).
    mutating func release(below index: UInt64) {
        while base < index, !entries.isEmpty {
            entries.removeFirst()
            base += 1
        }
    }
}

/// Hands stdin lines and end of input to the worker service.
private final class StdinHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let service: WorkerService

    init(service: WorkerService) {
        self.service = service
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        service.lineReceived(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            service.inputClosed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        service.inputClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        service.pipeFailed(error)
    }
}

#if canImport(Glibc)
import Glibc
#endif
