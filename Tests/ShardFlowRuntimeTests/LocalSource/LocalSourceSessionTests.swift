import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import ShardFlowRuntime

#if canImport(Glibc)
import Glibc
#endif

@Suite("Local source session")
struct LocalSourceSessionTests {
    /// A session of one shard over 10 generated records whose worker is `script` (run by sh).
    private static func session(
        on loop: EventLoop, worker script: String, finished: NIOLockedValueBox<[String]>
    ) -> LocalSourceSession {
        let settings = LocalSourceSession.Settings(
            source: .generate(count: 10, size: 100, keys: 10, rate: nil), stream: "test", shards: 1, batchRecords: 1000,
            workerArguments: ["/bin/sh", "-c", script], workerEnvironment: [:], injectedCheckpointErrors: [])
        return LocalSourceSession(
            settings: settings, eventLoop: loop, logger: Logger(label: "test"),
            persist: { _, _ in },
            onFinished: { outcome in finished.withLockedValue { $0.append("\(outcome)") } })
    }

    /// Waits up to 10 s for `condition`.
    private static func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test("a prepared session has started its worker, which gets nothing until the session begins")
    func preparedThenBegun() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let finished = NIOLockedValueBox<[String]>([])
        let input = directory.path + "/stdin"
        let prepared = Self.session(on: loop, worker: "cat > \(input)", finished: finished)
        try loop.submit { try prepared.prepare(checkpoints: [:]) }.wait()
        let pids = try loop.submit { prepared.workerPids }.wait()
        let pid = try #require(pids.first, "prepare starts the worker")
        #expect(Self.eventually { FileManager.default.fileExists(atPath: input) && (try? directory.read("stdin")) == "" },
                "the worker runs (its shell opened the file) and has been sent nothing")
        usleep(200_000)
        #expect(try directory.read("stdin") == "", "no initialize before begin()")
        #expect(kill(pid, 0) == 0, "the worker is still running")
        try loop.submit { try prepared.begin() }.wait()
        #expect(Self.eventually { (try? directory.read("stdin"))?.contains(#""action":"initialize""#) == true },
                "begin() sends initialize: \((try? directory.read("stdin")) ?? "")")
        try loop.submit { prepared.kill() }.wait()
        _ = waitpid(pid, nil, 0)
        #expect(finished.withLockedValue { $0 }.isEmpty, "still running when killed (nothing reaped it here)")
    }

    @Test("a prepared worker that dies before the session begins reports nothing; the session is marked failed")
    func preparedWorkerDies() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let finished = NIOLockedValueBox<[String]>([])
        let session = Self.session(on: loop, worker: "exit 7", finished: finished)
        try loop.submit { try session.prepare(checkpoints: [:]) }.wait()
        let pids = try loop.submit { session.workerPids }.wait()
        let pid = try #require(pids.first)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        let termination = ProcessTermination(status: status)
        #expect(termination == .exited(7))
        let routed = try loop.submit { session.childExited(pid: pid, termination: termination) }.wait()
        #expect(routed)
        #expect(try loop.submit { session.hasFailed && !session.hasBegun }.wait())
        #expect(finished.withLockedValue { $0 }.isEmpty, "the launcher hears nothing of a session that never began: \(finished.withLockedValue { $0 })")
    }
}
