import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

/// Transcripts of the daemon side (the local source) against child lines.
@Suite("Daemon session state machine")
struct DaemonSessionStateMachineTests {
    typealias Action = DaemonSessionStateMachine.Action

    static func session(checkpoint: Checkpoint? = nil) -> DaemonSessionStateMachine {
        DaemonSessionStateMachine(shardId: "shardId-000000000001", checkpoint: checkpoint)
    }

    static func line(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func position(_ sequence: String, _ sub: Int64? = 0) -> SequencePosition { SequencePosition(sequence, sub)! }

    @Test("initialize carries the stored checkpoint, or TRIM_HORIZON")
    func initialize() {
        var fresh = Self.session()
        #expect(fresh.initialize() == .initialize(shardId: "shardId-000000000001", sequenceNumber: "TRIM_HORIZON", subSequenceNumber: nil))
        var resumed = Self.session(checkpoint: .position(Self.position("4959", 3)))
        #expect(resumed.initialize() == .initialize(shardId: "shardId-000000000001", sequenceNumber: "4959", subSequenceNumber: 3))
    }

    @Test("a full exchange: initialize, records, checkpoint, shardEnded with a null checkpoint")
    func fullExchange() {
        var session = Self.session()
        _ = session.initialize()
        #expect(session.lineReceived(Self.line("")) == [])
        #expect(session.lineReceived(Self.line(#"{"action": "checkpoint", "sequenceNumber": null, "subSequenceNumber": null}"#))
            == [.reply(.checkpoint(sequenceNumber: nil, subSequenceNumber: nil, error: CheckpointError(name: "InvalidStateException")))])
        #expect(session.lineReceived(Self.line(#"{"action": "status", "responseFor": "initialize"}"#)) == [.completed(action: .initialize)])
        #expect(session.isReady)

        session.sendingProcessRecords(lastPosition: Self.position("105"))
        #expect(!session.isReady)
        #expect(session.lineReceived(Self.line(#"{"action":"checkpoint","sequenceNumber":"103","subSequenceNumber":0}"#))
            == [.persist(.position(Self.position("103"))), .reply(.checkpoint(sequenceNumber: "103", subSequenceNumber: 0, error: nil))])
        #expect(session.lineReceived(Self.line(#"{"action":"checkpoint","sequenceNumber":"106","subSequenceNumber":0}"#))
            == [.reply(.checkpoint(sequenceNumber: "106", subSequenceNumber: 0, error: CheckpointError(name: "IllegalArgumentException")))],
                "beyond the largest delivered record")
        #expect(session.lineReceived(Self.line(#"{"action":"checkpoint","sequenceNumber":"102","subSequenceNumber":0}"#))
            == [.reply(.checkpoint(sequenceNumber: "102", subSequenceNumber: 0, error: CheckpointError(name: "IllegalArgumentException")))],
                "before the stored checkpoint")
        #expect(session.lineReceived(Self.line(#"{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null}"#))
            == [.persist(.position(Self.position("105"))), .reply(.checkpoint(sequenceNumber: nil, subSequenceNumber: nil, error: nil))],
                "null = the largest delivered")
        #expect(session.lineReceived(Self.line(#"{"action":"status","responseFor":"processRecords"}"#)) == [.completed(action: .processRecords)])

        _ = session.sending(.shardEnded)
        #expect(session.lineReceived(Self.line(#"{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null}"#))
            == [.persist(.shardEnd), .reply(.checkpoint(sequenceNumber: nil, subSequenceNumber: nil, error: nil))])
        #expect(session.lineReceived(Self.line(#"{"action":"status","responseFor":"shardEnded"}"#)) == [.completed(action: .shardEnded)])
        #expect(session.isEnded)
        #expect(session.checkpoint == .shardEnd)
    }

    @Test("a status for another action fails the session, as the Java daemon exits")
    func wrongStatus() {
        var session = Self.session()
        _ = session.initialize()
        #expect(session.lineReceived(Self.line(#"{"action":"status","responseFor":"processRecords"}"#))
            == [.fail(#"status responseFor "processRecords" while "initialize" awaits its status"#)])
    }

    @Test("shardEnded without a checkpoint fails: the shard would never complete")
    func shardEndWithoutCheckpoint() {
        var session = Self.session()
        _ = session.initialize()
        _ = session.lineReceived(Self.line(#"{"action":"status","responseFor":"initialize"}"#))
        _ = session.sending(.shardEnded)
        #expect(session.lineReceived(Self.line(#"{"action":"status","responseFor":"shardEnded"}"#))
            == [.fail("the child did not checkpoint at the end of shard shardId-000000000001")])
    }

    @Test("leaseLost has no checkpointer")
    func leaseLost() {
        var session = Self.session()
        _ = session.initialize()
        _ = session.lineReceived(Self.line(#"{"action":"status","responseFor":"initialize"}"#))
        _ = session.sending(.leaseLost)
        #expect(session.lineReceived(Self.line(#"{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null}"#))
            == [.reply(.checkpoint(sequenceNumber: nil, subSequenceNumber: nil, error: CheckpointError(name: "InvalidStateException")))])
        #expect(session.lineReceived(Self.line(#"{"action":"status","responseFor":"leaseLost"}"#)) == [.completed(action: .leaseLost)])
        #expect(session.isEnded)
    }

    @Test("unreadable lines are skipped with the reason, as the daemon logs them")
    func skipsLines() {
        var session = Self.session()
        _ = session.initialize()
        let actions = session.lineReceived(Self.line("Record (Partition Key: pk1, Sequence Number: 1"))
        guard case .skipLine(let reason)? = actions.first else {
            Issue.record("not skipped")
            return
        }
        #expect(reason.contains("invalid JSON"))
        #expect(session.lineReceived(Self.line(#"{"action":"checkpoint","checkpoint":"1"}"#))
            == [.skipLine(#"unexpected key "checkpoint" in: {"action":"checkpoint","checkpoint":"1"}"#)])
    }

    @Test("injected checkpoint errors answer the next requests, in order")
    func injectedErrors() {
        var session = Self.session()
        session.injectedCheckpointErrors = [.throttling]
        _ = session.initialize()
        _ = session.lineReceived(Self.line(#"{"action":"status","responseFor":"initialize"}"#))
        session.sendingProcessRecords(lastPosition: Self.position("5"))
        #expect(session.lineReceived(Self.line(#"{"action":"checkpoint","sequenceNumber":"5","subSequenceNumber":0}"#))
            == [.reply(.checkpoint(sequenceNumber: "5", subSequenceNumber: 0, error: CheckpointError(name: "ThrottlingException")))])
        #expect(session.lineReceived(Self.line(#"{"action":"checkpoint","sequenceNumber":"5","subSequenceNumber":0}"#))
            == [.persist(.position(Self.position("5"))), .reply(.checkpoint(sequenceNumber: "5", subSequenceNumber: 0, error: nil))])
    }
}
