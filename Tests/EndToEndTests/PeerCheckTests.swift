import Foundation
import NIOConcurrencyHelpers
import ShardFlowCore
@testable import ShardFlowRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Only the group's own processes talk to each other: these tests create a second and a third
/// local user (the suite runs as root) and plant sockets and directories the way an attacker
/// on the same host would.
extension EndToEnd {
    /// A local system user for the tests, created when missing.
    struct TestUser {
        let name: String
        let uid: UInt32
        let gid: UInt32

        static func ensure(_ name: String) throws -> TestUser {
            if getpwnam(name) == nil {
                _ = Process.run("/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
            }
            guard let entry = getpwnam(name) else { throw ConfigurationError("cannot create the test user \(name)") }
            return TestUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
        }

        /// `program arguments` run as this user (setpriv, no supplementary groups).
        func command(_ program: String, _ arguments: [String]) -> [String] {
            ["/usr/bin/setpriv", "--reuid", String(uid), "--regid", String(gid), "--clear-groups", "--", program] + arguments
        }
    }

    struct ConfigurationError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Daemon lines for a worker: initialize, one record, shardEnded; then stdin closes.
    static func workerInput(_ harness: Harness) throws -> String {
        let lines = #"{"action":"initialize","shardId":"shard-0","sequenceNumber":"TRIM_HORIZON"}"# + "\n"
            + #"{"action":"processRecords","records":[{"data":"c2VjcmV0","partitionKey":"k","sequenceNumber":"1"}]}"# + "\n"
            + #"{"action":"shardEnded"}"# + "\n"
        let path = harness.path("lines")
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        chmod(harness.directory, 0o755)
        return path
    }

    @Test("a worker refuses a runtime directory another user made, and hands that user's socket nothing")
    func impostorDirectory() throws {
        let harness = try Harness("impostor")
        defer { harness.remove() }
        let victim = try TestUser.ensure("sf-test-victim")
        let attacker = try TestUser.ensure("sf-test-attacker")
        // The attacker got there first: the victim's predictable directory, with a fake router.
        let directory = "/tmp/shardflow-\(victim.uid)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chown(directory, attacker.uid, attacker.gid)
        chmod(directory, 0o755)
        let received = harness.path("received")
        let fake = try Background(attacker.command("/usr/bin/env", ["python3", Harness.fixtures + "/raw_peer.py", "fake-listener",
                                                                   directory + "/router-0.sock", received]),
                                  directory: harness.directory)
        defer { fake.kill() }
        #expect(ProcessEvents.waitForFile(directory + "/router-0.sock", timeout: 10))
        let input = try Self.workerInput(harness)
        let worker = victim.command(Harness.binDirectory + "/shardflow-worker", ["--runtime-dir", directory])
        // stdin stays open a while: the worker tries to connect (it exits when stdin closes).
        let result = try harness.run("/bin/sh", ["-c", "(cat \(input); sleep 2) | " + worker.joined(separator: " ")], timeout: 30)
        #expect(result.stderr.contains("refusing to connect: the socket directory \(directory) belongs to uid \(attacker.uid)"),
                "\(result.stderr.suffix(1500))")
        #expect(!result.stdout.contains(#""action":"checkpoint""#), "no checkpoint: \(result.stdout)")
        #expect(result.status == 1, "stdin closed with the shard not ended")
        #expect(((try? Data(contentsOf: URL(fileURLWithPath: received))) ?? Data()).isEmpty, "the fake router received nothing")
    }

    @Test("a worker refuses a listener that runs as another user (SO_PEERCRED), even in a trusted directory")
    func untrustedListener() throws {
        let harness = try Harness("peercred")
        defer { harness.remove() }
        let attacker = try TestUser.ensure("sf-test-attacker")
        let directory = harness.runtimeDirectory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory, 0o755)
        let received = harness.path("received")
        // Bound by root in root's directory, but listening as the attacker.
        let fake = try Background("/usr/bin/env", ["python3", Harness.fixtures + "/raw_peer.py", "fake-listener",
                                                   directory + "/router-0.sock", received, String(attacker.uid)],
                                  directory: harness.directory)
        defer { fake.kill() }
        #expect(fake.waitForOutput("listening"))
        let input = try Self.workerInput(harness)
        let result = try harness.run("/bin/sh", ["-c", "(cat \(input); sleep 2) | \(Harness.binDirectory)/shardflow-worker --runtime-dir \(directory)"],
                                     timeout: 30)
        #expect(result.stderr.contains("runs as uid \(attacker.uid), not as this user (0) or root"), "\(result.stderr.suffix(1500))")
        #expect(!result.stdout.contains(#""action":"checkpoint""#))
        #expect(((try? Data(contentsOf: URL(fileURLWithPath: received))) ?? Data()).isEmpty, "the impostor received nothing")
    }

    @Test("symbolic-link runtime directories are refused, and another user has no predictable default")
    func runtimeDirectoryRules() throws {
        let harness = try Harness("rundir")
        defer { harness.remove() }
        let real = harness.path("real")
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        let link = harness.runtimeDirectory
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        defer { unlink(link) }
        let router = try harness.run(Harness.binDirectory + "/shardflow-router", ["--runtime-dir", link], timeout: 20)
        #expect(router.status != 0)
        #expect(router.stderr.contains("the runtime directory \(link) is a symbolic link; it is not followed"), "\(router.stderr)")
        var info = stat()
        lstat(real, &info)
        #expect(info.st_mode & 0o777 == 0o755, "the link's target was not chmod-ed")

        let victim = try TestUser.ensure("sf-test-victim")
        let noDefault = try harness.run("/usr/bin/env", ["-u", "XDG_RUNTIME_DIR", "-u", "SHARDFLOW_RUNTIME_DIR"]
            + victim.command(Harness.binDirectory + "/shardflow-worker", []), timeout: 20)
        #expect(noDefault.status == 64)
        #expect(noDefault.stderr.contains("no runtime directory: set --runtime-dir"), "\(noDefault.stderr)")
    }

    @Test("a listener refuses another user's connections with an ERROR and keeps no descriptor")
    func foreignPeersAreRefused() throws {
        let harness = try Harness("foreign")
        defer { harness.remove() }
        let victim = try TestUser.ensure("sf-test-victim")
        let directory = harness.runtimeDirectory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chown(directory, victim.uid, victim.gid)
        let router = try Background(victim.command(Harness.binDirectory + "/shardflow-router", ["--runtime-dir", directory]),
                                    directory: harness.directory)
        defer { _ = router.stop() }
        #expect(router.waitForLog("listening on"))
        // Root can open the socket file; the router still refuses a user other than its own.
        let peers = try harness.python("raw_peer.py", ["connect-many", directory + "/router-0.sock", "50"])
        let answers = peers.stdout.split(separator: "\n")
        #expect(answers.count == 50 && answers.allSatisfy { $0 == "5 True" }, "\(peers.stdout) \(peers.stderr)")
        guard let pid = Self.pid(program: "shardflow-router", argumentsContaining: [directory]) else {
            Issue.record("router not found")
            return
        }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        #expect(descriptors < 30, "refused connections keep no descriptor (\(descriptors) open)")
        #expect(router.waitForLog("is not allowed to connect; allow it with --allow-uid 0"))
    }

    @Test("before its handshake a peer can make a listener hold little: a 4 KiB first frame, a deadline, a connection limit")
    func handshakeBounds() throws {
        let harness = try Harness("handshake")
        defer { harness.remove() }
        let directory = harness.runtimeDirectory
        let router = try Background(Harness.binDirectory + "/shardflow-router", [
            "--runtime-dir", directory, "--handshake-timeout", "1s", "--max-connections", "3",
        ], directory: harness.directory)
        defer { _ = router.stop() }
        #expect(router.waitForLog("listening on"))
        let socket = directory + "/router-0.sock"
        let oversize = try harness.python("raw_peer.py", ["oversize", socket])
        #expect(oversize.stdout.hasPrefix("error 3 closed True"), "an oversize first frame is refused at its length: \(oversize.stdout)")
        let silent = try harness.python("raw_peer.py", ["silent", socket])
        #expect(silent.stdout.hasPrefix("error 4 closed True after 1."), "a silent peer is closed at the deadline: \(silent.stdout)")
        let held = try harness.python("raw_peer.py", ["hold", socket, "5"])
        #expect(held.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "open open open 7 7", "the limit holds: \(held.stdout)")
        #expect(router.waitForLog("this listener holds its limit of 3 connections"))
    }
}

extension EndToEnd {
    @Test("the launcher's notify sockets take messages from its own user only, as systemd's do")
    func notifySenders() throws {
        let harness = try Harness("notify")
        defer { harness.remove() }
        chmod(harness.directory, 0o755)
        let attacker = try TestUser.ensure("sf-test-attacker")
        let path = harness.path("notify.sock")
        let hub = NotifyHub()
        let accepted = NIOLockedValueBox<[String]>([])
        let rejected = NIOLockedValueBox<[UInt32]>([])
        let arrived = DispatchSemaphore(value: 0)
        try hub.listen(at: path) { fields in
            accepted.withLockedValue { $0.append(fields["STATUS"] ?? "") }
            arrived.signal()
        }
        hub.onRejected = { uid, _, _ in
            rejected.withLockedValue { $0.append(uid) }
            arrived.signal()
        }
        try hub.start()
        defer { hub.stop() }
        chmod(path, 0o777)  // as if the directory's protection had failed
        let send = { (user: [String], text: String) in
            _ = try harness.run(user[0], Array(user.dropFirst()) + [
                "python3", "-c", "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(sys.argv[2].encode(), sys.argv[1])",
                path, text,
            ])
        }
        try send(attacker.command("/usr/bin/env", []), "READY=1\nSTATUS=forged")
        #expect(arrived.wait(timeout: .now() + 10) == .success)
        try send(["/usr/bin/env"], "STATUS=genuine")
        #expect(arrived.wait(timeout: .now() + 10) == .success)
        #expect(rejected.withLockedValue { $0 } == [attacker.uid])
        #expect(accepted.withLockedValue { $0 } == ["genuine"])
    }
}
