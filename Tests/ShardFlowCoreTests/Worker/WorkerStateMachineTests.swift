import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

/// Protocol transcripts of the worker: daemon lines and router frames in, exact actions out.
@Suite("Worker state machine")
struct WorkerStateMachineTests {
    typealias Action = WorkerStateMachine.Action

    /// A worker on a hand-driven clock. `receive` feeds one daemon line as the worker reads it;
    /// `connect()` brings up the router link on connection 1 with plenty of credit.
    struct Transcript {
        var machine: WorkerStateMachine
        var clock = TestClock()
        var nextSequence = 1000
        var now: NIODeadline { clock.now }

        init(_ configure: (inout WorkerStateMachine.Configuration) -> Void = { _ in }) {
            var configuration = WorkerStateMachine.Configuration()
            configuration.instance = 99
            configuration.checkpointInterval = .seconds(5)
            configure(&configuration)
            machine = WorkerStateMachine(configuration: configuration, now: clock.now)
        }

        mutating func receive(_ line: String) -> [Action] {
            do {
                switch try DaemonLine.parse(ByteBuffer(string: line), firstIndex: machine.nextRecordIndex) {
                case .processRecords(let records, _): return machine.processRecordsReceived(records, now: now)
                case .message(let message): return machine.messageReceived(message, now: now)
                }
            } catch {
                return machine.invalidLineReceived(error)
            }
        }

        /// `processRecords` with `count` records numbered from the running sequence counter.
        mutating func processRecords(_ count: Int) -> [Action] {
            let records = (0..<count).map { _ -> String in
                nextSequence += 1
                return #"{"action":"record","data":"","partitionKey":"k","sequenceNumber":"\#(nextSequence)","subSequenceNumber":0,"approximateArrivalTimestamp":1}"#
            }
            return receive(#"{"action":"processRecords","records":[\#(records.joined(separator: ","))],"millisBehindLatest":0}"#)
        }

        mutating func initialize() -> [Action] {
            receive(#"{"action":"initialize","shardId":"shardId-000000000000","sequenceNumber":"TRIM_HORIZON","subSequenceNumber":null}"#)
        }

        /// Initializes and connects the router link (connection 1, credit for 1000 records).
        mutating func initialized() {
            _ = initialize()
            connect()
        }

        mutating func connect(_ id: ConnectionID = 1) {
            _ = machine.connectionOpened(id)
            _ = machine.frameReceived(.hello(TestFrames.hello(.router, 0)), from: id, now: now)
            _ = machine.frameReceived(.credit(Credit(count: 1000, bytes: 1 << 30)), from: id, now: now)
        }

        mutating func ack(_ records: [UInt64], status: AckStatus = .ok) -> [Action] {
            machine.frameReceived(.acks(AckBatch(records.map { TestFrames.ack($0, status) })), from: 1, now: now)
        }

        mutating func advance(by amount: TimeAmount) { clock.advance(by: amount) }

        mutating func timer() -> [Action] { machine.timerFired(now: now) }

        mutating func reply(error: String? = nil) -> [Action] {
            let errorJSON = error.map { "\"\($0)\"" } ?? "null"
            return receive(#"{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null,"error":\#(errorJSON)}"#)
        }
    }

    /// The transcript's record `index` (sequence number 1001 + index).
    static func record(_ index: UInt64) -> WireRecord {
        TestFrames.record(index, key: "k", data: "", sequenceNumber: "\(1001 + index)", arrivalTimestamp: 1)
    }

    /// The RECORDS frame carrying these records to the router on connection 1. A frame carries
    /// consecutive records of one `processRecords` message (a gap starts another frame).
    static func records(_ indices: [UInt64], epoch: UInt32 = 0, to connection: ConnectionID = 1) -> Action {
        precondition(zip(indices, indices.dropFirst()).allSatisfy { $0 + 1 == $1 }, "one frame carries consecutive records")
        return .send(connection, .records(epoch: epoch, RecordBatch(indices.map(record))))
    }

    static func status(_ action: MLDAction) -> Action { .writeLine(.status(responseFor: action)) }
    static let nullCheckpoint = Action.writeLine(.checkpoint(sequenceNumber: nil, subSequenceNumber: nil))
    static func checkpoint(_ sequence: Int) -> Action { .writeLine(.checkpoint(sequenceNumber: "\(sequence)", subSequenceNumber: 0)) }

    @Test("initialize is answered at once, then the worker connects; the router link handshakes")
    func initialize() {
        var t = Transcript()
        #expect(t.receive(#"{"action":"initialize","shardId":"shardId-7","sequenceNumber":"42","subSequenceNumber":0}"#) == [
            .report(.initialized(shardId: "shardId-7", checkpoint: "42")), Self.status(.initialize), .connect(shardId: "shardId-7"),
        ])
        #expect(t.machine.connectionOpened(1) == [.send(1, .hello(Hello(role: .worker, index: 0, instance: 99, name: "shardId-7")))])
        #expect(t.machine.frameReceived(.hello(TestFrames.hello(.router, 2)), from: 1, now: t.now) == [.report(.link(.connected(router: 2)))])
    }

    @Test("processRecords: records go to the router within its credit and the status goes out at once")
    func processRecordsAnswersAtOnce() {
        var t = Transcript()
        _ = t.initialize()
        _ = t.machine.connectionOpened(1)
        _ = t.machine.frameReceived(.hello(TestFrames.hello(.router, 0)), from: 1, now: t.now)
        #expect(t.processRecords(3) == [Self.status(.processRecords)], "no credit yet: the records wait")
        #expect(t.machine.frameReceived(.credit(Credit(count: 2, bytes: 1 << 20)), from: 1, now: t.now) == [Self.records([0, 1])])
        #expect(t.machine.frameReceived(.credit(Credit(count: 5, bytes: 1 << 20)), from: 1, now: t.now) == [Self.records([2])])
        #expect(t.machine.tracker.incompleteCount == 3)
    }

    @Test("processRecords checkpoints the complete prefix once the interval has passed")
    func intervalCheckpoint() {
        var t = Transcript()
        t.initialized()
        #expect(t.processRecords(3) == [Self.records([0, 1, 2]), Self.status(.processRecords)])  // 1001 1002 1003
        #expect(t.ack([0, 2]) == [])
        t.advance(by: .seconds(6))
        #expect(t.processRecords(1) == [Self.records([3]), Self.checkpoint(1001)], "record 1 (1002) is incomplete: checkpoint stops at 1001")
        #expect(t.receive(#"{"action":"checkpoint","sequenceNumber":"1001","subSequenceNumber":0,"error":null}"#) == [
            .report(.checkpointed(SequencePosition("1001", 0))), Self.status(.processRecords),
        ])
        // Before the interval: no checkpoint even though the prefix moves.
        #expect(t.ack([1, 3]) == [])
        t.advance(by: .seconds(1))
        #expect(t.processRecords(1) == [Self.records([4]), Self.status(.processRecords)])  // 1005
        // After it: the new prefix end (1004; 1005 is incomplete).
        t.advance(by: .seconds(5))
        #expect(t.processRecords(1) == [Self.records([5]), Self.checkpoint(1004)])
        _ = t.reply()
        // Nothing new is complete: no checkpoint on the next batch even after the interval.
        t.advance(by: .seconds(6))
        #expect(t.processRecords(1) == [Self.records([6]), Self.status(.processRecords)])
    }

    @Test("shardEnded waits for every record, checkpoints null, then answers")
    func shardEnded() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(2)
        #expect(t.ack([1]) == [])
        #expect(t.receive(#"{"action":"shardEnded"}"#) == [.report(.shardEnded)], "record 0 is incomplete")
        #expect(t.ack([0]) == [Self.nullCheckpoint])
        #expect(t.reply() == [.report(.checkpointed(nil)), Self.status(.shardEnded)])
        #expect(t.machine.isFinished)
        #expect(t.machine.inputClosed() == [.exit(code: 0)])
    }

    @Test("legacy shutdown TERMINATE checkpoints like shardEnded; ZOMBIE never checkpoints")
    func legacyShutdown() {
        var terminate = Transcript()
        terminate.initialized()
        #expect(terminate.receive(#"{"action":"shutdown","reason":"TERMINATE"}"#) == [.report(.shardEnded), Self.nullCheckpoint])
        #expect(terminate.reply() == [.report(.checkpointed(nil)), Self.status(.shutdown)])

        var zombie = Transcript()
        zombie.initialized()
        _ = zombie.processRecords(1)
        _ = zombie.ack([0])
        zombie.advance(by: .seconds(60))
        #expect(zombie.receive(#"{"action":"shutdown","reason":"ZOMBIE"}"#) == [.report(.leaseLost), Self.status(.shutdown)])
        #expect(zombie.machine.isFinished)
    }

    @Test("leaseLost is answered at once and never checkpoints, even with complete records")
    func leaseLost() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(2)
        _ = t.ack([0, 1])
        t.advance(by: .seconds(60))
        #expect(t.receive(#"{"action":"leaseLost"}"#) == [.report(.leaseLost), Self.status(.leaseLost)])
        #expect(t.machine.inputClosed() == [.exit(code: 0)])
    }

    @Test("ThrottlingException is retried with doubling backoff; at shard end without limit")
    func throttlingAtShardEnd() {
        var t = Transcript { $0.checkpointRetryBackoff.initial = .milliseconds(200); $0.checkpointAttempts = 2 }
        t.initialized()
        #expect(t.receive(#"{"action":"shardEnded"}"#) == [.report(.shardEnded), Self.nullCheckpoint])
        var delay = TimeAmount.milliseconds(200)
        for attempt in 1...4 {
            #expect(t.reply(error: "ThrottlingException") == [
                .report(.checkpointRetrying(error: .throttling, attempt: attempt, delay: delay)), .scheduleTimer(t.now + delay),
            ])
            t.advance(by: delay - .milliseconds(1))
            #expect(t.timer() == [.scheduleTimer(t.now + .milliseconds(1))], "not before the backoff")
            t.advance(by: .milliseconds(1))
            #expect(t.timer() == [Self.nullCheckpoint])
            delay = delay * 2
        }
        #expect(t.reply() == [.report(.checkpointed(nil)), Self.status(.shardEnded)])
    }

    @Test("retryable errors during processRecords give up after the configured attempts and answer")
    func throttlingDuringProcessRecords() {
        var t = Transcript { $0.checkpointAttempts = 2 }
        t.initialized()
        _ = t.processRecords(1)
        _ = t.ack([0])
        t.advance(by: .seconds(6))
        #expect(t.processRecords(1) == [Self.records([1]), Self.checkpoint(1001)])
        #expect(t.reply(error: "KinesisClientLibDependencyException") == [
            .report(.checkpointRetrying(error: .dependency, attempt: 1, delay: .milliseconds(200))),
            .scheduleTimer(t.now + .milliseconds(200)),
        ])
        t.advance(by: .seconds(1))
        #expect(t.timer() == [Self.checkpoint(1001)])
        #expect(t.reply(error: "ThrottlingException") == [
            .report(.checkpointFailed(error: .throttling, position: SequencePosition("1001", 0))), Self.status(.processRecords),
        ])
    }

    @Test("ShutdownException stops checkpointing until the shutdown message")
    func shutdownException() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(1)
        _ = t.ack([0])
        t.advance(by: .seconds(6))
        _ = t.processRecords(1)
        #expect(t.reply(error: "ShutdownException") == [.report(.checkpointingStopped), Self.status(.processRecords)])
        _ = t.ack([1])
        t.advance(by: .seconds(60))
        #expect(t.processRecords(1) == [Self.records([2]), Self.status(.processRecords)], "no further checkpoint attempts")
        #expect(t.receive(#"{"action":"leaseLost"}"#) == [.report(.leaseLost), Self.status(.leaseLost)])
    }

    @Test("InvalidStateException and IllegalArgumentException are reported, not retried",
          arguments: [("InvalidStateException", CheckpointError.invalidState), ("IllegalArgumentException", .illegalArgument)])
    func nonRetryable(name: String, error: CheckpointError) {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(1)
        _ = t.ack([0])
        t.advance(by: .seconds(6))
        _ = t.processRecords(1)
        #expect(t.reply(error: name) == [.report(.checkpointFailed(error: error, position: SequencePosition("1001", 0))), Self.status(.processRecords)])
    }

    @Test("a non-retryable error at shard end is reported and the status still goes out")
    func nonRetryableAtShardEnd() {
        var t = Transcript()
        t.initialized()
        _ = t.receive(#"{"action":"shardEnded"}"#)
        #expect(t.reply(error: "InvalidStateException") == [.report(.checkpointFailed(error: .invalidState, position: nil)), Self.status(.shardEnded)])
    }

    @Test("shutdownRequested drains in-flight records, checkpoints the safe position, answers")
    func shutdownRequestedDrains() {
        var t = Transcript { $0.shutdownDrainTimeout = .seconds(3) }
        t.initialized()
        _ = t.processRecords(2)
        #expect(t.receive(#"{"action":"shutdownRequested"}"#) == [.scheduleTimer(t.now + .seconds(3))])
        #expect(t.ack([0, 1]) == [Self.checkpoint(1002), .scheduleTimer(nil)])
        #expect(t.reply() == [.report(.checkpointed(SequencePosition("1002", 0))), Self.status(.shutdownRequested)])
    }

    @Test("shutdownRequested checkpoints what is complete when the drain times out")
    func shutdownRequestedTimesOut() {
        var t = Transcript { $0.shutdownDrainTimeout = .seconds(3) }
        t.initialized()
        _ = t.processRecords(3)
        _ = t.ack([0])
        _ = t.receive(#"{"action":"shutdownRequested"}"#)
        t.advance(by: .seconds(3))
        #expect(t.timer() == [Self.checkpoint(1001)])
        #expect(t.reply() == [.report(.checkpointed(SequencePosition("1001", 0))), Self.status(.shutdownRequested)])
        #expect(!t.machine.isFinished, "the daemon sends leaseLost or closes stdin next")
        #expect(t.machine.inputClosed() == [.exit(code: 0)], "stdin closing after the answer is the normal end: no warning")
    }

    @Test("stdin closing mid-exchange without a shutdown is reported")
    func unexpectedEnd() {
        var t = Transcript()
        t.initialized()
        #expect(t.machine.inputClosed() == [.report(.unexpectedEndOfInput), .exit(code: 0)])
    }

    @Test("backpressure holds the status at max-pending until below the low-water mark")
    func backpressure() {
        var t = Transcript { $0.maxPending = 4; $0.lowWater = 2 }
        t.initialized()
        #expect(t.processRecords(3) == [Self.records([0, 1, 2]), Self.status(.processRecords)])
        #expect(t.processRecords(2) == [Self.records([3, 4]), .report(.backpressureApplied(incomplete: 5, held: 5))])
        #expect(t.ack([0, 1, 2]) == [.scheduleTimer(t.now + .seconds(5))],
                "2 incomplete is not below the low-water mark of 2: the status stays held, a checkpoint is due on the interval")
        #expect(t.ack([3]) == [.report(.backpressureReleased(incomplete: 1, held: 1)), Self.status(.processRecords), .scheduleTimer(nil)])
    }

    @Test("the records a worker may hold are 4 times --max-pending, and no more than Int.max for one that large")
    func maxHeldFromMaxPending() {
        #expect(ProcessingDefaults.maxHeld(maxPending: 25) == 100)
        #expect(WorkerStateMachine.Configuration().maxHeld == 4 * ProcessingDefaults.maxPending)
        #expect(ProcessingDefaults.maxHeld(maxPending: Int.max / 2) == Int.max, "saturates instead of overflowing")
        #expect(ProcessingDefaults.maxHeld(maxPending: Int.max) == Int.max)
    }

    @Test("a record that stays incomplete while later ones complete holds the status once max-held records are held")
    func heldRecordsBound() {
        var t = Transcript { $0.maxPending = 5; $0.lowWater = 2; $0.maxHeld = 8 }
        t.initialized()
        #expect(t.processRecords(3) == [Self.records([0, 1, 2]), Self.status(.processRecords)])
        _ = t.ack([1, 2])
        #expect(t.processRecords(3) == [Self.records([3, 4, 5]), Self.status(.processRecords)], "4 incomplete, 6 held: below both limits")
        _ = t.ack([3, 4, 5])
        #expect(t.machine.incompleteRecordCount == 1, "only record 0 is incomplete")
        #expect(t.processRecords(2) == [Self.records([6, 7]), .report(.backpressureApplied(incomplete: 3, held: 8)), .report(.heldBehind(oldest: 0, held: 8))],
                "3 incomplete is below max-pending, but records 0…7 are held behind record 0: the status waits")
        #expect(t.machine.incompleteRecordCount == 3)
        #expect(t.ack([6, 7]) == [], "1 incomplete is below the low-water mark, but 8 are still held behind record 0: no release")
        #expect(t.machine.isHoldingBack)
        #expect(t.ack([0]) == [.report(.backpressureReleased(incomplete: 0, held: 0)), Self.status(.processRecords)],
                "record 0 completing releases all 8")
    }

    @Test("a status held at max-pending stays held while half of max-held records wait behind an incomplete one")
    func heldBehindAfterMaxPending() {
        var t = Transcript { $0.maxPending = 4; $0.lowWater = 2; $0.maxHeld = 8 }
        t.initialized()
        _ = t.processRecords(3)
        #expect(t.processRecords(2) == [Self.records([3, 4]), .report(.backpressureApplied(incomplete: 5, held: 5))])
        #expect(t.ack([1, 2, 3, 4]) == [.report(.heldBehind(oldest: 0, held: 5))],
                "1 incomplete is below the low-water mark, but 5 held is not below half of 8: the status stays, and says why")
        #expect(t.ack([0]) == [.report(.backpressureReleased(incomplete: 0, held: 0)), Self.status(.processRecords)])
    }

    @Test("while the status is held, the interval still brings checkpoints")
    func checkpointWhileHeld() {
        var t = Transcript { $0.maxPending = 2; $0.lowWater = 1 }
        t.initialized()
        _ = t.processRecords(3)
        #expect(t.ack([0]) == [.scheduleTimer(t.now + .seconds(5))])
        t.advance(by: .seconds(5))
        #expect(t.timer() == [Self.checkpoint(1001)])
        #expect(t.reply() == [.report(.checkpointed(SequencePosition("1001", 0)))], "still 2 incomplete: the status stays held")
        #expect(t.ack([1, 2]) == [.report(.backpressureReleased(incomplete: 0, held: 0)), Self.status(.processRecords)])
    }

    @Test("a failed item makes its record resend after a doubling backoff")
    func failedItemResends() {
        var t = Transcript { $0.failedRecordBackoff.initial = .seconds(1) }
        t.initialized()
        _ = t.processRecords(2)
        #expect(t.ack([1], status: .failed) == [
            .report(.recordFailed(record: 1, attempt: 1, delay: .seconds(1))), .scheduleTimer(t.now + .seconds(1)),
        ])
        t.advance(by: .seconds(1))
        #expect(t.timer() == [Self.records([1])])
        #expect(t.ack([1], status: .failed) == [
            .report(.recordFailed(record: 1, attempt: 2, delay: .seconds(2))), .scheduleTimer(t.now + .seconds(2)),
        ])
        #expect(t.ack([1], status: .ok) == [.scheduleTimer(nil)])
        t.advance(by: .seconds(2))
        #expect(t.timer() == [], "completed meanwhile: no resend")
        #expect(t.ack([0], status: .deadLettered) == [])
        #expect(t.machine.tracker.checkpointable == 1, "dead-lettered items count as complete")
    }

    @Test("a PEER_LOST resends every incomplete record on the same connection, in a new epoch")
    func peerLost() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(4)
        _ = t.ack([1, 3])
        let lost = PeerLost(role: .mapper, index: 0, reason: "gone")
        #expect(t.machine.frameReceived(.peerLost(lost), from: 1, now: t.now) == [
            .report(.redelivering(records: 2, reason: "mapper 0 lost: gone")), Self.records([0], epoch: 1), Self.records([2], epoch: 1),
        ])
        #expect(t.machine.frameReceived(.peerLost(lost), from: 1, now: t.now) == [
            .report(.redelivering(records: 2, reason: "mapper 0 lost: gone")), Self.records([0], epoch: 2), Self.records([2], epoch: 2),
        ])
    }

    @Test("after a PEER_LOST, records still waiting for credit go after the resent ones: index order")
    func peerLostKeepsOrder() {
        var t = Transcript()
        _ = t.initialize()
        _ = t.machine.connectionOpened(1)
        _ = t.machine.frameReceived(.hello(TestFrames.hello(.router, 0)), from: 1, now: t.now)
        let bytes = 1 << 20
        _ = t.machine.frameReceived(.credit(Credit(count: 2, bytes: UInt64(bytes))), from: 1, now: t.now)
        #expect(t.processRecords(5).contains(Self.records([0, 1])))
        #expect(t.machine.link.queuedCount == 3, "records 2, 3 and 4 wait for credit")
        _ = t.ack([1])
        let lost = PeerLost(role: .mapper, index: 0, reason: "gone")
        #expect(t.machine.frameReceived(.peerLost(lost), from: 1, now: t.now) == [
            .report(.redelivering(records: 4, reason: "mapper 0 lost: gone")),
        ])
        #expect(t.machine.link.queuedCount == 4)
        #expect(t.machine.frameReceived(.credit(Credit(count: 10, bytes: UInt64(bytes))), from: 1, now: t.now) == [
            Self.records([0], epoch: 1), Self.records([2, 3, 4], epoch: 1),
        ], "record 0 is resent before 2, 3 and 4 are sent at all")
    }

    @Test("a closed router connection resends every incomplete record once a new one is up")
    func reconnect() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(4)
        _ = t.ack([2])
        #expect(t.machine.connectionClosed(1, now: t.now) == [.report(.redelivering(records: 3, reason: "router connection closed"))])
        #expect(t.machine.connectionOpened(2) == [.send(2, .hello(Hello(role: .worker, index: 0, instance: 99, name: "shardId-000000000000")))])
        #expect(t.machine.frameReceived(.hello(TestFrames.hello(.router, 0)), from: 2, now: t.now) == [.report(.link(.connected(router: 0)))])
        #expect(t.machine.frameReceived(.credit(Credit(count: 10, bytes: 1 << 20)), from: 2, now: t.now) == [
            Self.records([0, 1], to: 2), Self.records([3], to: 2),
        ])
    }

    @Test("a draining router gets nothing more; records wait for the next connection")
    func drainingRouter() {
        var t = Transcript()
        t.initialized()
        #expect(t.machine.frameReceived(.drain(Drain(reason: "SIGTERM")), from: 1, now: t.now) == [.report(.link(.draining(reason: "SIGTERM")))])
        #expect(t.processRecords(1) == [Self.status(.processRecords)])
        #expect(t.machine.link.queuedCount == 1)
    }

    @Test("a router that sends records breaks the protocol: the connection is closed")
    func routerViolation() {
        var t = Transcript()
        t.initialized()
        let error = ErrorFrame(code: .protocolViolation, message: "unexpected RECORDS for a worker")
        #expect(t.machine.frameReceived(.records(epoch: 0, TestFrames.records(0...0)), from: 1, now: t.now) == [
            .report(.link(.refused(error.message))), .close(1, error),
        ])
    }

    @Test("a message before the previous status is a protocol violation: report and exit 1")
    func pipelinedMessage() {
        var t = Transcript { $0.maxPending = 1; $0.lowWater = 1 }
        t.initialized()
        _ = t.processRecords(2)
        #expect(t.processRecords(1) == [.report(.protocolViolation("processRecords while processRecords still awaits its status")), .exit(code: 1)])
    }

    @Test("a line the worker cannot read (invalid JSON, unknown action, a record without data) ends it with status 1",
          arguments: [
              (#"{"action":"processRecords","records":[{"data":"AA"#, "invalid JSON"),
              (#"{"action":"frobnicate"}"#, #"unknown action "frobnicate""#),
              (#"{"action":"processRecords","records":[{"partitionKey":"k","sequenceNumber":"1"}]}"#, "record 0 has no data"),
              (#"{"action":"processRecords","records":[{"data":"%%%","partitionKey":"k","sequenceNumber":"1"}]}"#, #"invalid "data""#),
              (#"{"action":"processRecords","records":[{"data":"","partitionKey":"k"}]}"#, "record 0 has no sequenceNumber"),
              (#"{"action":"initialize"}"#, #"missing field "shardId""#),
          ])
    func invalidLines(line: String, reason: String) {
        var t = Transcript()
        t.initialized()
        let actions = t.receive(line)
        guard case .report(.invalidLine(let text))? = actions.first, actions.count == 2 else {
            Issue.record("expected a report and an exit, got \(actions)")
            return
        }
        #expect(text.contains(reason), "\(text)")
        #expect(actions.last == .exit(code: 1))
        #expect(t.machine.tracker.nextIndex == 0, "nothing of the line was taken")
        #expect(t.processRecords(1) == [], "nothing more is answered")
    }

    @Test("stdin EOF ends the worker: cleanly when idle, with code 1 mid-exchange")
    func endOfInput() {
        var idle = Transcript()
        idle.initialized()
        #expect(idle.machine.inputClosed() == [.report(.unexpectedEndOfInput), .exit(code: 0)])

        var busy = Transcript()
        busy.initialized()
        _ = busy.processRecords(1)
        _ = busy.receive(#"{"action":"shardEnded"}"#)
        #expect(busy.machine.inputClosed() == [.report(.unexpectedEndOfInput), .exit(code: 1)])
    }

    @Test("a checkpoint reply nobody asked for is reported")
    func strayReply() {
        var t = Transcript()
        t.initialized()
        #expect(t.reply() == [.report(.protocolViolation("checkpoint reply without a checkpoint request"))])
    }

    @Test("shutdownRequested before initialize is answered at once")
    func shutdownBeforeInitialize() {
        var t = Transcript()
        #expect(t.receive(#"{"action":"shutdownRequested"}"#) == [Self.status(.shutdownRequested)])
    }
}
