import NIOCore
import ShardFlowTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import ShardFlowCore

/// Transcripts of the launcher's supervision: a group of reducer-0 (member 0), router-0 (1),
/// mapper-0 (2) and mapper-1 (3).
@Suite("Supervisor state machine")
struct SupervisorStateMachineTests {
    static let reducer = 0, router = 1, mapper0 = 2, mapper1 = 3

    static func machine(_ configure: (inout SupervisorStateMachine.Configuration) -> Void = { _ in }) -> SupervisorStateMachine {
        var configuration = SupervisorStateMachine.Configuration(members: [
            .init(kind: .reducer, index: 0), .init(kind: .router, index: 0), .init(kind: .mapper, index: 0), .init(kind: .mapper, index: 1),
        ])
        configuration.restart = RestartPolicy(limit: 2, window: .seconds(60))
        configure(&configuration)
        return SupervisorStateMachine(configuration: configuration)
    }

    /// Started, every member ready, the source running.
    static func running(_ clock: TestClock) -> SupervisorStateMachine {
        var machine = machine()
        _ = machine.start(now: clock.now)
        for id in 0..<4 { _ = machine.ready(id, now: clock.now) }
        return machine
    }

    @Test("reducers, routers and mappers start together (a mapper retries until their sockets exist); the source once every one is ready")
    func startOrder() {
        var clock = TestClock()
        var machine = Self.machine()
        #expect(machine.start(now: clock.now) == [
            .report(.starting(reducers: 1, routers: 1, mappers: 2)), .spawn(Self.reducer), .spawn(Self.router),
            .spawn(Self.mapper0), .spawn(Self.mapper1), .scheduleTimer(clock.now + .seconds(30)),
        ])
        #expect(machine.ready(Self.reducer, now: clock.now) == [])
        clock.advance(by: .seconds(1))
        #expect(machine.ready(Self.mapper0, now: clock.now) == [], "a mapper may be ready before a router")
        #expect(machine.ready(Self.router, now: clock.now) == [])
        #expect(machine.ready(Self.mapper1, now: clock.now) == [.report(.groupReady), .startSource(0), .scheduleTimer(nil)])
        #expect(machine.ready(Self.mapper1, now: clock.now) == [], "a second READY=1 changes nothing")
    }

    @Test("a process that is not ready in time ends the run: the started ones are stopped in order")
    func readyTimeout() {
        var clock = TestClock()
        var machine = Self.machine()
        _ = machine.start(now: clock.now)
        _ = machine.ready(Self.reducer, now: clock.now)
        _ = machine.ready(Self.mapper0, now: clock.now)
        _ = machine.ready(Self.mapper1, now: clock.now)
        clock.advance(by: .seconds(30))
        #expect(machine.timerFired(now: clock.now) == [
            .report(.fatal("router-0 did not report READY=1 within 30s (see its log lines above)")),
            .signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM), .scheduleTimer(clock.now + .seconds(30)),
        ])
        #expect(machine.childExited(Self.mapper0, termination: .signaled(SIGTERM), now: clock.now) == [])
        #expect(machine.childExited(Self.mapper1, termination: .signaled(SIGTERM), now: clock.now) == [.signal(Self.router, SIGTERM)])
        #expect(machine.childExited(Self.router, termination: .signaled(SIGTERM), now: clock.now) == [.signal(Self.reducer, SIGTERM)])
        #expect(machine.childExited(Self.reducer, termination: .exited(0), now: clock.now) == [
            .finish(code: ExitStatus.failed), .scheduleTimer(nil),
        ])
        #expect(machine.isFinished)
    }

    @Test("a process that cannot be started ends the run")
    func spawnFailure() {
        let clock = TestClock()
        var machine = Self.machine()
        _ = machine.start(now: clock.now)
        #expect(machine.spawnFailed(Self.router, reason: "no such file", now: clock.now) == [
            .report(.fatal("cannot start router-0: no such file")), .signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM),
        ], "the started ones stop in order, mappers first; their stop deadline is the start-up deadline already armed")
    }

    @Test("a process that exits is restarted alone after a backoff; one that keeps crashing ends the run")
    func restarts() {
        var clock = TestClock()
        var machine = Self.running(clock)
        #expect(machine.childExited(Self.reducer, termination: .exited(1), now: clock.now) == [
            .report(.restarting(Self.reducer, termination: .exited(1), delay: .milliseconds(100), attempt: 1)),
            .scheduleTimer(clock.now + .milliseconds(100)),
        ])
        clock.advance(by: .milliseconds(100))
        #expect(machine.timerFired(now: clock.now) == [.spawn(Self.reducer)])
        #expect(machine.childExited(Self.reducer, termination: .signaled(SIGSEGV), now: clock.now) == [
            .report(.restarting(Self.reducer, termination: .signaled(SIGSEGV), delay: .milliseconds(200), attempt: 2)),
            .scheduleTimer(clock.now + .milliseconds(200)),
        ])
        clock.advance(by: .milliseconds(200))
        #expect(machine.timerFired(now: clock.now) == [.spawn(Self.reducer)])
        #expect(machine.childExited(Self.reducer, termination: .exited(1), now: clock.now) == [
            .report(.fatal("reducer-0 keeps exiting (3 times within 1m; last: exited with status 1)")),
            .killSource(0),
            .signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM),
            .scheduleTimer(clock.now + .seconds(30)),
        ])
    }

    @Test("a process killed from outside (SIGKILL) is restarted without counting toward the limit")
    func killedFromOutside() {
        var clock = TestClock()
        var machine = Self.running(clock)
        for _ in 0..<10 {
            #expect(machine.childExited(Self.router, termination: .signaled(SIGKILL), now: clock.now) == [
                .report(.restarting(Self.router, termination: .signaled(SIGKILL), delay: .milliseconds(100), attempt: 0)),
                .scheduleTimer(clock.now + .milliseconds(100)),
            ])
            clock.advance(by: .milliseconds(100))
            #expect(machine.timerFired(now: clock.now) == [.spawn(Self.router)])
        }
        #expect(machine.sourceEnded(0, .failed("worker for shard-1 killed by signal 9", counts: false), now: clock.now) == [
            .report(.sourceRestarting(0, reason: "worker for shard-1 killed by signal 9", delay: .milliseconds(100), attempt: 0)),
            .scheduleTimer(clock.now + .milliseconds(100)),
        ])
    }

    @Test("a signal stops the source first, then mappers, routers and reducers, each after the previous exited")
    func gracefulStop() {
        let clock = TestClock()
        var machine = Self.running(clock)
        #expect(machine.signalReceived(SIGTERM, now: clock.now) == [
            .report(.stopping(signal: SIGTERM)), .stopSource(0), .scheduleTimer(clock.now + .seconds(30)),
        ], "the drain deadline")
        #expect(machine.sourceEnded(0, .stopped, now: clock.now) == [.signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM)],
                "each kind may take until the drain deadline")
        #expect(machine.childExited(Self.mapper0, termination: .exited(0), now: clock.now) == [])
        #expect(machine.childExited(Self.mapper1, termination: .exited(0), now: clock.now) == [.signal(Self.router, SIGTERM)])
        #expect(machine.childExited(Self.router, termination: .exited(0), now: clock.now) == [.signal(Self.reducer, SIGTERM)])
        #expect(machine.childExited(Self.reducer, termination: .exited(0), now: clock.now) == [
            .finish(code: ExitStatus.terminated), .scheduleTimer(nil),
        ])
    }

    @Test("a process that does not drain by the deadline is killed; the others get a short grace; the exit status says so")
    func stopTimeout() {
        var clock = TestClock()
        var machine = Self.running(clock)
        _ = machine.signalReceived(SIGINT, now: clock.now)
        _ = machine.sourceEnded(0, .stopped, now: clock.now)
        _ = machine.childExited(Self.mapper1, termination: .exited(0), now: clock.now)
        clock.advance(by: .seconds(30))
        #expect(machine.timerFired(now: clock.now) == [
            .report(.stopTimedOut(Self.mapper0, .seconds(30))), .signal(Self.mapper0, SIGKILL),
        ])
        #expect(machine.childExited(Self.mapper0, termination: .signaled(SIGKILL), now: clock.now) == [
            .signal(Self.router, SIGTERM), .scheduleTimer(clock.now + .seconds(2)),
        ], "past the drain deadline, the router still gets its grace")
        _ = machine.childExited(Self.router, termination: .exited(0), now: clock.now)
        #expect(machine.childExited(Self.reducer, termination: .exited(0), now: clock.now) == [
            .finish(code: ExitStatus.drainTimedOut), .scheduleTimer(nil),
        ])
    }

    @Test("a source still stopping at the drain deadline is stopped at once, and the group after it")
    func drainDeadline() {
        var clock = TestClock()
        var machine = Self.running(clock)
        _ = machine.signalReceived(SIGTERM, now: clock.now)
        clock.advance(by: .seconds(30))
        #expect(machine.timerFired(now: clock.now) == [
            .report(.drainTimedOut(.seconds(30))), .killSource(0),
            .signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM), .scheduleTimer(clock.now + .seconds(2)),
        ])
        #expect(machine.sourceEnded(0, .failed("worker killed by signal 9"), now: clock.now) == [], "the source was already given up")
        for id in [Self.mapper0, Self.mapper1, Self.router] { _ = machine.childExited(id, termination: .exited(0), now: clock.now) }
        #expect(machine.childExited(Self.reducer, termination: .exited(0), now: clock.now) == [
            .finish(code: ExitStatus.drainTimedOut), .scheduleTimer(nil),
        ])
    }

    @Test("a second signal kills everything at once")
    func secondSignal() {
        let clock = TestClock()
        var machine = Self.running(clock)
        _ = machine.signalReceived(SIGINT, now: clock.now)
        #expect(machine.signalReceived(SIGINT, now: clock.now) == [
            .report(.killingEverything(signal: SIGINT)), .killAll, .finish(code: ExitStatus.interrupted), .scheduleTimer(nil),
        ])
        #expect(machine.isFinished)
    }

    @Test("a source that completes ends the run with its status: nothing is in flight, so the group stops at once")
    func sourceCompletes() {
        let clock = TestClock()
        var machine = Self.running(clock)
        #expect(machine.sourceEnded(0, .completed(code: ExitStatus.invalidInput), now: clock.now) == [
            .signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM), .signal(Self.router, SIGTERM), .signal(Self.reducer, SIGTERM),
            .scheduleTimer(clock.now + .seconds(30)),
        ])
        #expect(machine.childExited(Self.reducer, termination: .exited(0), now: clock.now) == [], "the others still stop")
        for id in [Self.router, Self.mapper1] { _ = machine.childExited(id, termination: .exited(0), now: clock.now) }
        #expect(machine.childExited(Self.mapper0, termination: .exited(0), now: clock.now) == [
            .finish(code: ExitStatus.invalidInput), .scheduleTimer(nil),
        ], "the last one out finishes the run, whatever its kind")
    }

    @Test("a failing source is restarted after a backoff; one that keeps failing ends the run")
    func sourceFailures() {
        var clock = TestClock()
        var machine = Self.running(clock)
        #expect(machine.sourceEnded(0, .failed("worker for shard-1 exited with status 1"), now: clock.now) == [
            .report(.sourceRestarting(0, reason: "worker for shard-1 exited with status 1", delay: .milliseconds(100), attempt: 1)),
            .scheduleTimer(clock.now + .milliseconds(100)),
        ])
        clock.advance(by: .milliseconds(100))
        #expect(machine.timerFired(now: clock.now) == [.startSource(0)])
        _ = machine.sourceEnded(0, .failed("again"), now: clock.now)
        clock.advance(by: .milliseconds(200))
        _ = machine.timerFired(now: clock.now)
        #expect(machine.sourceEnded(0, .failed("and again"), now: clock.now) == [
            .report(.fatal("the source failed 3 times within 1m; last: and again")),
            .signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM), .scheduleTimer(clock.now + .seconds(30)),
        ])
    }

    @Test("a signal while the source waits to restart stops the group at once")
    func signalDuringSourceRestart() {
        let clock = TestClock()
        var machine = Self.running(clock)
        _ = machine.sourceEnded(0, .failed("crash"), now: clock.now)
        #expect(machine.signalReceived(SIGTERM, now: clock.now) == [
            .report(.stopping(signal: SIGTERM)),
            .signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM), .scheduleTimer(clock.now + .seconds(30)),
        ])
    }

    @Test("a process exiting while the group stops is not restarted")
    func noRestartWhileStopping() {
        let clock = TestClock()
        var machine = Self.running(clock)
        _ = machine.signalReceived(SIGTERM, now: clock.now)
        #expect(machine.childExited(Self.reducer, termination: .signaled(SIGKILL), now: clock.now) == [])
        #expect(machine.sourceEnded(0, .stopped, now: clock.now) == [.signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM)])
    }
}

extension SupervisorStateMachineTests {
    @Test("members that cannot be started at all still let the stop finish")
    func nothingStarts() {
        let clock = TestClock()
        var machine = Self.machine()
        _ = machine.start(now: clock.now)
        #expect(machine.spawnFailed(Self.reducer, reason: "no such file", now: clock.now) == [
            .report(.fatal("cannot start reducer-0: no such file")), .signal(Self.mapper0, SIGTERM), .signal(Self.mapper1, SIGTERM),
        ])
        #expect(machine.spawnFailed(Self.router, reason: "no such file", now: clock.now) == [
            .report(.fatal("cannot start router-0: no such file")),
        ])
        #expect(machine.spawnFailed(Self.mapper0, reason: "no such file", now: clock.now) == [
            .report(.fatal("cannot start mapper-0: no such file")),
        ])
        #expect(machine.spawnFailed(Self.mapper1, reason: "no such file", now: clock.now) == [
            .report(.fatal("cannot start mapper-1: no such file")), .finish(code: ExitStatus.failed), .scheduleTimer(nil),
        ])
    }

    @Test("several sources: each fails and restarts on its own; the group stops once every one completed, with the highest code")
    func severalSources() {
        var clock = TestClock()
        var machine = Self.machine { $0.sources = 2 }
        _ = machine.start(now: clock.now)
        for id in 0..<3 { _ = machine.ready(id, now: clock.now) }
        #expect(machine.ready(3, now: clock.now) == [.report(.groupReady), .startSource(0), .startSource(1), .scheduleTimer(nil)])
        #expect(machine.sourceEnded(1, .failed("worker for shard-0 exited with status 1"), now: clock.now) == [
            .report(.sourceRestarting(1, reason: "worker for shard-0 exited with status 1", delay: .milliseconds(100), attempt: 1)),
            .scheduleTimer(clock.now + .milliseconds(100)),
        ])
        #expect(machine.sourceEnded(0, .completed(code: ExitStatus.invalidInput), now: clock.now) == [],
                "one source completed: the other still runs")
        clock.advance(by: .milliseconds(100))
        #expect(machine.timerFired(now: clock.now) == [.startSource(1)], "only the failed source starts again")
        let stop = machine.sourceEnded(1, .completed(code: ExitStatus.completed), now: clock.now)
        #expect(stop.first == .signal(Self.mapper0, SIGTERM), "every source completed: the group stops")
        for id in [Self.mapper0, Self.mapper1, Self.router] { _ = machine.childExited(id, termination: .exited(0), now: clock.now) }
        #expect(machine.childExited(Self.reducer, termination: .exited(0), now: clock.now).contains(.finish(code: ExitStatus.invalidInput)),
                "the highest code: some input lines were invalid")
    }

    @Test("several sources: a signal stops each running source; the group stops once all stopped")
    func severalSourcesStop() {
        var clock = TestClock()
        var machine = Self.machine { $0.sources = 2 }
        _ = machine.start(now: clock.now)
        for id in 0..<4 { _ = machine.ready(id, now: clock.now) }
        _ = machine.sourceEnded(0, .completed(code: ExitStatus.completed), now: clock.now)
        #expect(machine.signalReceived(SIGTERM, now: clock.now) == [
            .report(.stopping(signal: SIGTERM)), .stopSource(1), .scheduleTimer(clock.now + .seconds(30)),
        ])
        clock.advance(by: .seconds(1))
        #expect(machine.sourceEnded(1, .stopped, now: clock.now).first == .signal(Self.mapper0, SIGTERM))
    }
}
