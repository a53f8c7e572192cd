import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real systemd as PID 1 in a throwaway container: an overlay of `/` whose upper layer is a
/// tmpfs, booted with `systemd-nspawn -b` (its own PID, mount, network and UTS namespaces), and
/// commands run inside it with `nsenter`. Every change the container makes lands in the tmpfs;
/// ``tearDown()`` powers it off and unmounts both layers, so the host stays as it was.
///
/// Files written under ``root`` before or while it runs appear in the container (they go to the
/// upper layer). Changes to the host's `/` after ``init(name:)`` may not be seen inside: pass
/// what must be current with `binds`.
final class SystemdContainer {
    let base: String
    /// The container's `/`, as the host sees it.
    var root: String { base + "/root" }
    /// The tmpfs upper layer: everything the container created or changed.
    var upper: String { base + "/layer/upper" }
    private var console: String { base + "/console.log" }
    private var nspawn: Process?
    private(set) var leader: pid_t = 0
    private var mounted: [String] = []
    /// Directories systemd-nspawn makes on the host (under /run) that did not exist before.
    private let hostDirectoriesToRemove: [String]

    /// Host directories systemd-nspawn creates for its own bookkeeping (empty again once it ends).
    static let nspawnHostDirectories = ["/run/systemd", "/run/systemd/nspawn", "/run/systemd/nspawn/locks", "/run/systemd/nspawn/propagate"]

    /// Why this machine cannot boot a container, or nil when it can.
    static func unavailableReason() -> String? {
        guard getuid() == 0 else { return "the tests do not run as root" }
        for tool in ["/usr/bin/systemd-nspawn", "/usr/bin/nsenter", "/lib/systemd/systemd"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (scripts/setup.sh installs systemd-container)"
        }
        guard (try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8))?.contains("overlay") ?? false else {
            return "the kernel has no overlay file system"
        }
        return nil
    }

    /// Mounts the layers (throws ``Unavailable`` when the kernel refuses an overlay of `/`).
    init(name: String) throws {
        base = "/tmp/sf-nspawn-\(getpid())-\(name)"
        hostDirectoriesToRemove = Self.nspawnHostDirectories.filter { !FileManager.default.fileExists(atPath: $0) }
        try FileManager.default.createDirectory(atPath: base + "/layer", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try mount(["-t", "tmpfs", "-o", "size=4g,mode=0755", "sf-nspawn-layer", base + "/layer"], at: base + "/layer")
        try FileManager.default.createDirectory(atPath: upper, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/layer/work", withIntermediateDirectories: true)
        try mount(["-t", "overlay", "-o", "lowerdir=/,upperdir=\(upper),workdir=\(base)/layer/work", "sf-nspawn-root", root], at: root)
    }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    private func mount(_ arguments: [String], at point: String) throws {
        let result = Self.run("/bin/mount", arguments)
        guard result.status == 0 else {
            throw Unavailable(description: "mount \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        mounted.append(point)
    }

    /// Boots systemd and waits until it has finished starting up (`running` or `degraded`).
    /// `binds`: host directories mounted read-only into the container.
    func boot(binds: [(host: String, container: String)], mask: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-nspawn")
        process.arguments = ["--quiet", "-D", root, "-b", "--register=no", "--keep-unit", "--private-network",
                             "--console=read-only", "--machine=shardflow-test"]
            + binds.map { "--bind-ro=\($0.host):\($0.container)" }
            + ["--"] + mask.map { "systemd.mask=\($0)" }
        _ = FileManager.default.createFile(atPath: console, contents: nil)
        let log = FileHandle(forWritingAtPath: console)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        nspawn = process
        // PID 1 of the container is nspawn's child running systemd.
        let deadline = Date().addingTimeInterval(30)
        while leader == 0, Date() < deadline, process.isRunning {
            if let children = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children", encoding: .utf8) {
                for child in children.split(separator: " ").compactMap({ pid_t($0) }) {
                    // Exactly "systemd": before it execs systemd, nspawn's child is still a
                    // "systemd-nspawn" (entering that one finds no systemd as PID 1: "offline").
                    let command = (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8)) ?? ""
                    if command.trimmingCharacters(in: .whitespacesAndNewlines) == "systemd" { leader = child }
                }
            }
            if leader == 0 { usleep(50_000) }
        }
        guard leader != 0 else { throw Unavailable(description: "systemd-nspawn did not boot systemd: \(consoleTail())") }
        // systemctl cannot connect until systemd has set up its private socket.
        var state = exec("systemctl is-system-running --wait", timeout: 120)
        let connected = wait(60) {
            guard state.stderr.contains("Failed to connect") else { return true }
            state = exec("systemctl is-system-running --wait", timeout: 120)
            return false
        }
        let outcome = state.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard connected else { throw Unavailable(description: "systemctl cannot reach the container's systemd: \(state.stderr)") }
        guard outcome == "running" || outcome == "degraded" else {
            throw Unavailable(description: "the container's systemd is \(outcome) \(state.stderr): \(consoleTail())")
        }
    }

    func consoleTail() -> String {
        String(((try? String(contentsOfFile: console, encoding: .utf8)) ?? "").suffix(3000))
    }

    /// Runs `command` with bash inside the container (as root, in `directory`).
    @discardableResult
    func exec(_ command: String, in directory: String = "/", timeout: TimeInterval = 120) -> Harness.Result {
        Self.run("/usr/bin/nsenter", ["-t", String(leader), "-a", "/bin/bash", "-c", "cd \(directory) && \(command)"], environment: [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
            "TERM": "dumb", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0",
        ], timeout: timeout)
    }

    /// `systemctl show -p PROPERTY --value UNIT`.
    func property(_ unit: String, _ name: String) -> String {
        exec("systemctl show -p \(name) --value \(unit)").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` passes.
    func wait(_ timeout: TimeInterval, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    /// Powers the container off (SIGKILL after 30 s), unmounts both layers and removes the
    /// directory.
    func tearDown() {
        if let nspawn, nspawn.isRunning {
            // systemd-nspawn asks the container to power off on SIGTERM.
            kill(nspawn.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(30)
            while nspawn.isRunning, Date() < deadline { usleep(100_000) }
            if nspawn.isRunning {
                if leader != 0 { kill(leader, SIGKILL) }
                kill(nspawn.processIdentifier, SIGKILL)
            }
            nspawn.waitUntilExit()
        }
        for point in mounted.reversed() where Self.run("/bin/umount", [point]).status != 0 {
            _ = Self.run("/bin/umount", ["-l", point])
        }
        mounted = []
        try? FileManager.default.removeItem(atPath: base)
        // rmdir: only what nspawn made and left empty.
        for directory in hostDirectoriesToRemove.reversed() { rmdir(directory) }
    }

    /// Whether `path` is a mount point in the host's mount table.
    static func isMounted(_ path: String) -> Bool {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(4).first.map(String.init) == path }
    }

    static func run(_ program: String, _ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval = 120) -> Harness.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        let collected = OutputCollector(output: output, errors: errors)
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch { return Harness.Result(status: -1, stdout: "", stderr: "\(program): \(error)") }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            process.waitUntilExit()
            let (stdout, stderr) = collected.finish()
            Issue.record("\(program) \(arguments) timed out after \(timeout)s\nstdout: \(stdout.suffix(2000))\nstderr: \(stderr.suffix(2000))")
            return Harness.Result(status: -1, stdout: stdout, stderr: stderr)
        }
        process.waitUntilExit()
        let (stdout, stderr) = collected.finish()
        return Harness.Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }
}
