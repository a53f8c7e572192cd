import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Restart policy and backoff")
struct RestartPolicyTests {
    @Test("backoff doubles from the initial delay up to the maximum, and never overflows")
    func backoff() {
        let backoff = ExponentialBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        #expect((1...6).map { backoff.delay(attempt: $0) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1),
        ])
        #expect(backoff.delay(attempt: 0) == .milliseconds(100))
        #expect(ExponentialBackoff(initial: .seconds(1_000_000), maximum: .seconds(5)).delay(attempt: 60) == .seconds(5))
    }

    @Test("exits within the window count toward the limit; older ones are forgotten")
    func limit() {
        let policy = RestartPolicy(limit: 2, window: .seconds(60), backoff: ExponentialBackoff(initial: .milliseconds(100), maximum: .seconds(5)))
        var clock = TestClock()
        var history: [NIODeadline] = []
        #expect(policy.exited(at: clock.now, history: &history) == .restart(after: .milliseconds(100), attempt: 1))
        clock.advance(by: .seconds(10))
        #expect(policy.exited(at: clock.now, history: &history) == .restart(after: .milliseconds(200), attempt: 2))
        clock.advance(by: .seconds(10))
        #expect(policy.exited(at: clock.now, history: &history) == .giveUp(exits: 3))
        clock.advance(by: .seconds(61))
        #expect(policy.exited(at: clock.now, history: &history) == .restart(after: .milliseconds(100), attempt: 1),
                "a minute later the earlier exits no longer count")
    }
}
