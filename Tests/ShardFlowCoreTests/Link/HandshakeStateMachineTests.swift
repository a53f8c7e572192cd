import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Handshake state machine")
struct HandshakeStateMachineTests {
    @Test("a listener accepts the roles it serves and refuses anything else with the code that says why")
    func listener() {
        let policy = HandshakeStateMachine.Policy.accepting(own: .router, roles: [.worker: nil, .mapper: 4])
        var accepted = HandshakeStateMachine(policy: policy)
        #expect(accepted.firstFrameReceived(.hello(TestFrames.hello(.mapper, 3))) == .established(TestFrames.hello(.mapper, 3)))
        #expect(accepted.peer == TestFrames.hello(.mapper, 3))

        var role = HandshakeStateMachine(policy: policy)
        #expect(role.firstFrameReceived(.hello(TestFrames.hello(.reducer))) == .refused(
            ErrorFrame(code: .roleRejected, message: "a router accepts workers and mappers, not a reducer")))
        #expect(!role.isEstablished)

        var version = HandshakeStateMachine(policy: policy)
        #expect(version.firstFrameReceived(.hello(TestFrames.hello(.worker, version: 1))) == .refused(
            ErrorFrame(code: .versionMismatch, message: "protocol version 1 is not 2; run the same ShardFlow version in the whole group")))

        var first = HandshakeStateMachine(policy: policy)
        #expect(first.firstFrameReceived(.drain(Drain(reason: "x"))) == .refused(
            ErrorFrame(code: .protocolViolation, message: "expected HELLO first, got DRAIN")))

        var outside = HandshakeStateMachine(policy: policy)
        #expect(outside.firstFrameReceived(.hello(TestFrames.hello(.mapper, 4))) == .refused(ErrorFrame(
            code: .roleRejected, message: "mapper 4 is outside this group's mappers 0..<4 (this router was started with --mappers 4)")))

        var anyWorker = HandshakeStateMachine(policy: policy)
        #expect(anyWorker.firstFrameReceived(.hello(TestFrames.hello(.worker, 99))) == .established(TestFrames.hello(.worker, 99)),
                "a role without a known count accepts any index")
    }

    @Test("a connecting side expects one role and index; a peer's ERROR first is its refusal")
    func connector() {
        let policy = HandshakeStateMachine.Policy.connecting(to: .reducer, index: 2)
        var right = HandshakeStateMachine(policy: policy)
        #expect(right.firstFrameReceived(.hello(TestFrames.hello(.reducer, 2))) == .established(TestFrames.hello(.reducer, 2)))

        var wrongIndex = HandshakeStateMachine(policy: policy)
        #expect(wrongIndex.firstFrameReceived(.hello(TestFrames.hello(.reducer, 1))) == .refused(
            ErrorFrame(code: .roleRejected, message: "expected reducer 2, but the peer is reducer 1")))

        var anyRouter = HandshakeStateMachine(policy: .connecting(to: .router, index: nil))
        #expect(anyRouter.firstFrameReceived(.hello(TestFrames.hello(.mapper, 0))) == .refused(
            ErrorFrame(code: .roleRejected, message: "expected a router, but the peer is mapper 0")))

        var refused = HandshakeStateMachine(policy: policy)
        let error = ErrorFrame(code: .unauthorized, message: "uid 1000 is not allowed")
        #expect(refused.firstFrameReceived(.error(error)) == .peerRefused(error))
    }
}
