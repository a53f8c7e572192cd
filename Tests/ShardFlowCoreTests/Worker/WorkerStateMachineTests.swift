import NIOCore
import Testing

@testable import ShardFlowCore

/// Protocol transcripts of the worker's MLD exchange: daemon lines in, actions out.
@Suite("Worker state machine")
struct WorkerStateMachineTests {
    typealias Action = WorkerStateMachine.Action

    /// A worker and a fake clock; `receive` feeds one daemon line as the worker would read it.
    struct Transcript {
        var machine: WorkerStateMachine
        var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var nextSequence = 1000

        init(_ configure: (inout WorkerStateMachine.Configuration) -> Void = { _ in }) {
            var configuration = WorkerStateMachine.Configuration()
            configuration.checkpointInterval = .seconds(5)
            configure(&configuration)
            machine = WorkerStateMachine(configuration: configuration, now: now)
        }

        mutating func receive(_ line: String) -> [Action] {
            do {
                let message = try MLDDecoder.decodeDaemonMessage(Array(line.utf8))
                return machine.messageReceived(message, now: now)
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

        mutating func ack(_ records: [UInt64], status: AckStatus = .ok) -> [Action] {
            machine.acksReceived(
                records.map { Ack(token: Token(router: 0, worker: 1, record: $0, item: 0, itemCount: 1), status: status) },
                now: now
            )
        }

        mutating func advance(by amount: TimeAmount) { now = now + amount }

        mutating func timer() -> [Action] { machine.timerFired(now: now) }

        mutating func reply(error: String? = nil) -> [Action] {
            let errorJSON = error.map { "\"\($0)\"" } ?? "null"
            return receive(#"{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null,"error":\#(errorJSON)}"#)
        }

        mutating func initialized() {
            _ = receive(#"{"action":"initialize","shardId":"shardId-000000000000","sequenceNumber":"TRIM_HORIZON","subSequenceNumber":null}"#)
        }
    }

    /// The lines an action list writes to stdout.
    static func lines(_ actions: [Action]) -> [String] {
        actions.compactMap {
            if case .send(let message) = $0 { return String(MLDEncoder.line(message).dropLast()) }
            return nil
        }
    }

    static func reports(_ actions: [Action]) -> [WorkerStateMachine.WorkerEvent] {
        actions.compactMap {
            if case .report(let event) = $0 { return event }
            return nil
        }
    }

    static func status(_ action: String) -> String { #"{"action":"status","responseFor":"\#(action)"}"# }
    static let nullCheckpoint = #"{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null}"#
    static func checkpointAt(_ sequence: Int) -> String {
        #"{"action":"checkpoint","sequenceNumber":"\#(sequence)","subSequenceNumber":0}"#
    }

    @Test("initialize is answered at once; checkpointing is never attempted before records")
    func initialize() {
        var t = Transcript()
        let actions = t.receive(#"{"action":"initialize","shardId":"shardId-7","sequenceNumber":"42","subSequenceNumber":0}"#)
        #expect(Self.lines(actions) == [Self.status("initialize")])
        #expect(Self.reports(actions) == [.initialized(shardId: "shardId-7", checkpoint: "42")])
        #expect(t.machine.shardId == "shardId-7")
    }

    @Test("processRecords: records are dispatched and the status goes out at once")
    func processRecordsAnswersAtOnce() {
        var t = Transcript()
        t.initialized()
        let actions = t.processRecords(3)
        #expect(actions.contains(.dispatch(0..<3)))
        #expect(Self.lines(actions) == [Self.status("processRecords")])
        #expect(t.machine.tracker.incompleteCount == 3)
    }

    @Test("processRecords checkpoints the complete prefix once the interval has passed")
    func intervalCheckpoint() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(3)  // 1001 1002 1003
        _ = t.ack([0, 2])
        t.advance(by: .seconds(6))
        let actions = t.processRecords(1)  // 1004
        #expect(Self.lines(actions) == [Self.checkpointAt(1001)], "record 1 (1002) is incomplete: checkpoint stops at 1001")
        let replied = t.receive(#"{"action":"checkpoint","sequenceNumber":"1001","subSequenceNumber":0,"error":null}"#)
        #expect(Self.reports(replied).contains(.checkpointed(SequencePosition("1001", 0))))
        #expect(Self.lines(replied) == [Self.status("processRecords")])
        // Before the interval: no checkpoint even though the prefix moves.
        _ = t.ack([1, 3])
        t.advance(by: .seconds(1))
        #expect(Self.lines(t.processRecords(1)) == [Self.status("processRecords")])  // 1005
        // After it: the new prefix end (1004; 1005 is incomplete).
        t.advance(by: .seconds(5))
        #expect(Self.lines(t.processRecords(1)) == [Self.checkpointAt(1004)])
        _ = t.reply()
        // Nothing new is complete: no checkpoint on the next batch even after the interval.
        t.advance(by: .seconds(6))
        #expect(Self.lines(t.processRecords(1)) == [Self.status("processRecords")])
    }

    @Test("shardEnded waits for every record, checkpoints null, then answers")
    func shardEnded() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(2)
        _ = t.ack([1])
        let ended = t.receive(#"{"action":"shardEnded"}"#)
        #expect(Self.lines(ended).isEmpty, "record 0 is incomplete")
        let acked = t.ack([0])
        #expect(Self.lines(acked) == [Self.nullCheckpoint])
        let replied = t.reply()
        #expect(Self.lines(replied) == [Self.status("shardEnded")])
        #expect(Self.reports(replied).contains(.checkpointed(nil)))
        #expect(t.machine.isFinished)
        #expect(t.machine.inputClosed() == [.exit(code: 0)])
    }

    @Test("legacy shutdown TERMINATE checkpoints like shardEnded; ZOMBIE never checkpoints")
    func legacyShutdown() {
        var terminate = Transcript()
        terminate.initialized()
        #expect(Self.lines(terminate.receive(#"{"action":"shutdown","reason":"TERMINATE"}"#)) == [Self.nullCheckpoint])
        #expect(Self.lines(terminate.reply()) == [Self.status("shutdown")])

        var zombie = Transcript()
        zombie.initialized()
        _ = zombie.processRecords(1)
        _ = zombie.ack([0])
        zombie.advance(by: .seconds(60))
        #expect(Self.lines(zombie.receive(#"{"action":"shutdown","reason":"ZOMBIE"}"#)) == [Self.status("shutdown")])
        #expect(zombie.machine.isFinished)
    }

    @Test("leaseLost is answered at once and never checkpoints, even with complete records")
    func leaseLost() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(2)
        _ = t.ack([0, 1])
        t.advance(by: .seconds(60))
        let actions = t.receive(#"{"action":"leaseLost"}"#)
        #expect(Self.lines(actions) == [Self.status("leaseLost")])
        #expect(Self.reports(actions).contains(.leaseLost))
        #expect(t.machine.inputClosed() == [.exit(code: 0)])
    }

    @Test("ThrottlingException is retried with doubling backoff; at shard end without limit")
    func throttlingAtShardEnd() {
        var t = Transcript { $0.checkpointRetryDelay = .milliseconds(200); $0.checkpointAttempts = 2 }
        t.initialized()
        #expect(Self.lines(t.receive(#"{"action":"shardEnded"}"#)) == [Self.nullCheckpoint])
        var expectedDelay = TimeAmount.milliseconds(200)
        for attempt in 1...4 {
            let throttled = t.reply(error: "ThrottlingException")
            #expect(Self.lines(throttled).isEmpty)
            #expect(Self.reports(throttled) == [.checkpointRetrying(error: "ThrottlingException", attempt: attempt, delay: expectedDelay)])
            #expect(throttled.contains(.scheduleTimer(t.now + expectedDelay)))
            t.advance(by: expectedDelay - .milliseconds(1))
            #expect(Self.lines(t.timer()).isEmpty, "not before the backoff")
            t.advance(by: .milliseconds(1))
            #expect(Self.lines(t.timer()) == [Self.nullCheckpoint])
            expectedDelay = expectedDelay * 2
        }
        #expect(Self.lines(t.reply()) == [Self.status("shardEnded")])
    }

    @Test("retryable errors during processRecords give up after the configured attempts and answer")
    func throttlingDuringProcessRecords() {
        var t = Transcript { $0.checkpointAttempts = 2 }
        t.initialized()
        _ = t.processRecords(1)
        _ = t.ack([0])
        t.advance(by: .seconds(6))
        #expect(Self.lines(t.processRecords(1)) == [Self.checkpointAt(1001)])
        _ = t.reply(error: "KinesisClientLibDependencyException")
        t.advance(by: .seconds(1))
        #expect(Self.lines(t.timer()) == [Self.checkpointAt(1001)])
        let gaveUp = t.reply(error: "ThrottlingException")
        #expect(Self.reports(gaveUp).contains(.checkpointFailed(error: "ThrottlingException", position: SequencePosition("1001", 0))))
        #expect(Self.lines(gaveUp) == [Self.status("processRecords")])
    }

    @Test("ShutdownException stops checkpointing until the shutdown message")
    func shutdownException() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(1)
        _ = t.ack([0])
        t.advance(by: .seconds(6))
        _ = t.processRecords(1)
        let stopped = t.reply(error: "ShutdownException")
        #expect(Self.reports(stopped).contains(.checkpointingStopped))
        #expect(Self.lines(stopped) == [Self.status("processRecords")])
        _ = t.ack([1])
        t.advance(by: .seconds(60))
        #expect(Self.lines(t.processRecords(1)) == [Self.status("processRecords")], "no further checkpoint attempts")
        #expect(Self.lines(t.receive(#"{"action":"leaseLost"}"#)) == [Self.status("leaseLost")])
    }

    @Test("InvalidStateException and IllegalArgumentException are reported, not retried", arguments: ["InvalidStateException", "IllegalArgumentException"])
    func nonRetryable(error: String) {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(1)
        _ = t.ack([0])
        t.advance(by: .seconds(6))
        _ = t.processRecords(1)
        let failed = t.reply(error: error)
        #expect(Self.reports(failed) == [.checkpointFailed(error: error, position: SequencePosition("1001", 0))])
        #expect(Self.lines(failed) == [Self.status("processRecords")])
        #expect(!failed.contains { if case .scheduleTimer(.some) = $0 { true } else { false } })
    }

    @Test("a non-retryable error at shard end is reported and the status still goes out")
    func nonRetryableAtShardEnd() {
        var t = Transcript()
        t.initialized()
        _ = t.receive(#"{"action":"shardEnded"}"#)
        let failed = t.reply(error: "InvalidStateException")
        #expect(Self.reports(failed).contains(.checkpointFailed(error: "InvalidStateException", position: nil)))
        #expect(Self.lines(failed) == [Self.status("shardEnded")])
    }

    @Test("shutdownRequested drains in-flight records, checkpoints the safe position, answers")
    func shutdownRequestedDrains() {
        var t = Transcript { $0.shutdownDrainTimeout = .seconds(3) }
        t.initialized()
        _ = t.processRecords(2)
        let requested = t.receive(#"{"action":"shutdownRequested"}"#)
        #expect(Self.lines(requested).isEmpty)
        #expect(requested.contains(.scheduleTimer(t.now + .seconds(3))))
        #expect(Self.lines(t.ack([0, 1])) == [Self.checkpointAt(1002)])
        #expect(Self.lines(t.reply()) == [Self.status("shutdownRequested")])
    }

    @Test("shutdownRequested checkpoints what is complete when the drain times out")
    func shutdownRequestedTimesOut() {
        var t = Transcript { $0.shutdownDrainTimeout = .seconds(3) }
        t.initialized()
        _ = t.processRecords(3)
        _ = t.ack([0])
        _ = t.receive(#"{"action":"shutdownRequested"}"#)
        t.advance(by: .seconds(3))
        #expect(Self.lines(t.timer()) == [Self.checkpointAt(1001)])
        #expect(Self.lines(t.reply()) == [Self.status("shutdownRequested")])
        #expect(!t.machine.isFinished, "the daemon sends leaseLost or closes stdin next")
    }

    @Test("backpressure holds the status at max-pending until below the low-water mark")
    func backpressure() {
        var t = Transcript { $0.maxPending = 4; $0.lowWater = 2 }
        t.initialized()
        let first = t.processRecords(3)
        #expect(Self.lines(first) == [Self.status("processRecords")])
        let held = t.processRecords(2)
        #expect(Self.lines(held).isEmpty)
        #expect(Self.reports(held) == [.backpressureApplied(incomplete: 5)])
        #expect(Self.lines(t.ack([0, 1, 2])).isEmpty, "2 incomplete is not below the low-water mark of 2")
        let released = t.ack([3])
        #expect(Self.reports(released) == [.backpressureReleased(incomplete: 1)])
        #expect(Self.lines(released) == [Self.status("processRecords")])
    }

    @Test("while the status is held, the interval still brings checkpoints")
    func checkpointWhileHeld() {
        var t = Transcript { $0.maxPending = 2; $0.lowWater = 1 }
        t.initialized()
        _ = t.processRecords(3)
        let acked = t.ack([0])
        #expect(acked.contains(.scheduleTimer(t.now + .seconds(5))))
        t.advance(by: .seconds(5))
        #expect(Self.lines(t.timer()) == [Self.checkpointAt(1001)])
        #expect(Self.lines(t.reply()).isEmpty, "still 2 incomplete: the status stays held")
        #expect(Self.lines(t.ack([1, 2])) == [Self.status("processRecords")])
    }

    @Test("a failed item makes its record resend after a doubling backoff")
    func failedItemResends() {
        var t = Transcript { $0.failedRecordRetryDelay = .seconds(1) }
        t.initialized()
        _ = t.processRecords(2)
        let failed = t.ack([1], status: .failed)
        #expect(Self.reports(failed) == [.recordFailed(record: 1, attempt: 1, delay: .seconds(1))])
        #expect(failed.contains(.scheduleTimer(t.now + .seconds(1))))
        t.advance(by: .seconds(1))
        #expect(t.timer().contains(.resend([1])))
        let again = t.ack([1], status: .failed)
        #expect(Self.reports(again) == [.recordFailed(record: 1, attempt: 2, delay: .seconds(2))])
        _ = t.ack([1], status: .ok)
        t.advance(by: .seconds(2))
        #expect(!t.timer().contains { if case .resend = $0 { true } else { false } }, "completed meanwhile: no resend")
        _ = t.ack([0], status: .deadLettered)
        #expect(t.machine.tracker.checkpointable?.index == 1, "dead-lettered items count as complete")
    }

    @Test("a broken path resends every incomplete record")
    func pathBroken() {
        var t = Transcript()
        t.initialized()
        _ = t.processRecords(4)
        _ = t.ack([1, 3])
        let actions = t.machine.pathBroken(reason: "router connection closed", now: t.now)
        #expect(actions.contains(.resend([0, 2])))
        #expect(Self.reports(actions) == [.redelivering(records: 2, reason: "router connection closed")])
    }

    @Test("a message before the previous status is a protocol violation: report and exit 1")
    func pipelinedMessage() {
        var t = Transcript { $0.maxPending = 1; $0.lowWater = 1 }
        t.initialized()
        _ = t.processRecords(2)
        let actions = t.processRecords(1)
        #expect(Self.reports(actions) == [.protocolViolation("processRecords while processRecords still awaits its status")])
        #expect(actions.contains(.exit(code: 1)))
    }

    @Test("invalid JSON and unknown actions are reported with the line and skipped")
    func invalidLines() {
        var t = Transcript()
        t.initialized()
        let bad = t.receive(#"{"action":"processRecords","records":[{"data":"AA"#)
        #expect(Self.lines(bad).isEmpty)
        guard case .invalidLine(let text)? = Self.reports(bad).first else {
            Issue.record("no report")
            return
        }
        #expect(text.contains("invalid JSON") && text.contains(#"{"action":"processRecords""#))
        let unknown = t.receive(#"{"action":"frobnicate"}"#)
        #expect(Self.reports(unknown) == [.invalidLine(#"unknown action "frobnicate" in: {"action":"frobnicate"}"#)])
        #expect(Self.lines(t.processRecords(1)) == [Self.status("processRecords")], "the worker carries on")
    }

    @Test("stdin EOF ends the worker: cleanly when idle, with code 1 mid-exchange")
    func endOfInput() {
        var idle = Transcript()
        idle.initialized()
        #expect(idle.machine.inputClosed() == [.report(.unexpectedEndOfInput), .exit(code: 0)])

        var busy = Transcript()
        busy.initialized()
        _ = busy.receive(#"{"action":"shardEnded"}"#)
        #expect(busy.machine.inputClosed().contains(.exit(code: 1)))
    }

    @Test("a checkpoint reply nobody asked for is reported")
    func strayReply() {
        var t = Transcript()
        t.initialized()
        #expect(Self.reports(t.reply()) == [.protocolViolation("checkpoint reply without a checkpoint request")])
    }

    @Test("shutdownRequested before initialize is answered at once")
    func shutdownBeforeInitialize() {
        var t = Transcript()
        #expect(Self.lines(t.receive(#"{"action":"shutdownRequested"}"#)) == [Self.status("shutdownRequested")])
    }
}
