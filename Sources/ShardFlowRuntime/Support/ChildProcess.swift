import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, with optional pipes to its stdin and stdout.
public final class ChildProcess: @unchecked Sendable {
    /// What a child's standard stream is connected to.
    public enum Stream: Sendable {
        case inherit
        case pipe
        case null
        case descriptor(CInt)
    }

    /// How a child ended.
    public typealias Termination = ProcessTermination

    /// Resource use of a finished child, from `wait4`.
    public struct Usage: Hashable, Sendable {
        public var userSeconds: Double
        public var systemSeconds: Double
        /// Peak resident set size in bytes.
        public var maximumResidentBytes: Int
    }

    public let pid: pid_t
    public let arguments: [String]
    /// The parent's end of the child's stdin pipe (when `.pipe`).
    public private(set) var stdinDescriptor: CInt?
    /// The parent's end of the child's stdout pipe (when `.pipe`).
    public private(set) var stdoutDescriptor: CInt?

    private init(pid: pid_t, arguments: [String], stdin: CInt?, stdout: CInt?) {
        self.pid = pid
        self.arguments = arguments
        self.stdinDescriptor = stdin
        self.stdoutDescriptor = stdout
    }

    /// Starts `arguments[0]` (searched in `PATH`) with `arguments`; with `executable`, starts
    /// that file instead, `arguments[0]` still its `argv[0]`.
    public static func spawn(
        _ arguments: [String],
        executable: String? = nil,
        environment: [String: String]? = nil,
        stdin: Stream = .inherit,
        stdout: Stream = .inherit,
        stderr: Stream = .inherit,
        newProcessGroup: Bool = false
    ) throws -> ChildProcess {
        precondition(!arguments.isEmpty, "no program to run")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var toClose: [CInt] = []
        defer { for descriptor in toClose { close(descriptor) } }

        func redirect(_ stream: Stream, target: CInt, childReads: Bool) throws -> CInt? {
            switch stream {
            case .inherit:
                return nil
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", childReads ? O_RDONLY : O_WRONLY, 0)
                return nil
            case .descriptor(let descriptor):
                posix_spawn_file_actions_adddup2(&actions, descriptor, target)
                return nil
            case .pipe:
                var ends: [CInt] = [0, 0]
                guard shardflow_pipe_cloexec(&ends) == 0 else { throw SystemCallError(call: "pipe2", code: errno) }
                let (childEnd, parentEnd) = childReads ? (ends[0], ends[1]) : (ends[1], ends[0])
                posix_spawn_file_actions_adddup2(&actions, childEnd, target)
                toClose.append(childEnd)
                return parentEnd
            }
        }
        let parentStdin = try redirect(stdin, target: 0, childReads: true)
        let parentStdout = try redirect(stdout, target: 1, childReads: false)
        _ = try redirect(stderr, target: 2, childReads: false)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling even where the parent ignores signals.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if newProcessGroup {
            // Its own process group (led by itself): a terminal's Ctrl-C, sent to the foreground
            // group, does not reach it, and it can be stopped together with its own children.
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var merged: [String: String] = [:]
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") { merged[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
            index += 1
        }
        for (key, value) in environment ?? [:] { merged[key] = value }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }

        var pid: pid_t = 0
        let result = posix_spawnp(&pid, executable ?? arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            if let parentStdin { close(parentStdin) }
            if let parentStdout { close(parentStdout) }
            let program = executable.map { "\($0) (as \(arguments[0]))" } ?? arguments[0]
            throw ConfigurationError("cannot start \(program): \(String(cString: strerror(result)))")
        }
        return ChildProcess(pid: pid, arguments: arguments, stdin: parentStdin, stdout: parentStdout)
    }

    /// Closes the parent's end of the child's stdin (the child sees end of input).
    public func closeStdin() {
        if let descriptor = stdinDescriptor {
            close(descriptor)
            stdinDescriptor = nil
        }
    }

    public func closeStdout() {
        if let descriptor = stdoutDescriptor {
            close(descriptor)
            stdoutDescriptor = nil
        }
    }

    /// Sends `signal` to the child (ignores a child that is already gone).
    public func send(signal: Int32) {
        kill(pid, signal)
    }

    /// Sends `signal` to the child's process group (the child was started with
    /// `newProcessGroup`): the child and whatever it started.
    public func sendToGroup(signal: Int32) {
        kill(-pid, signal)
    }

    /// Waits for the child to end (blocking) and returns how, with its resource use.
    public func wait() -> (Termination, Usage) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
        return (Termination(status: status), Self.usage(usage))
    }

    /// Returns how the child ended if it has, without blocking.
    public func poll() -> (Termination, Usage)? {
        var status: Int32 = 0
        var usage = rusage()
        let result = wait4(pid, &status, WNOHANG, &usage)
        guard result == pid else { return nil }
        return (Termination(status: status), Self.usage(usage))
    }

    static func usage(_ usage: rusage) -> Usage {
        Usage(
            userSeconds: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
            systemSeconds: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
            maximumResidentBytes: usage.ru_maxrss * 1024
        )
    }
}
