import CSystemd
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// The receiving side of `sd_notify` for the launcher's children: one datagram socket per
/// child (so the socket says who is talking), all served by one thread. The launcher learns
/// what systemd would: when a child is ready (`READY=1`) and its `STATUS=` lines. Like
/// systemd, it reads each message's sender credentials and drops messages from other users
/// (the socket is 0600 in a private directory; this holds even if that were not so).
final class NotifyHub: @unchecked Sendable {
    typealias Handler = @Sendable ([String: String]) -> Void

    private struct Endpoint {
        var descriptor: CInt
        var path: String
        var handler: Handler
    }

    private let endpoints = NIOLockedValueBox([Endpoint]())
    private var thread: pthread_t?
    private var wakeRead: CInt = -1
    private var wakeWrite: CInt = -1
    /// Whether the thread runs (so a flush request will be served), and the requests waiting.
    private let flushState = NIOLockedValueBox((running: false, completions: [@Sendable () -> Void]()))
    private static let stopByte: UInt8 = 1
    private static let flushByte: UInt8 = 2
    /// Most messages a flush takes from one socket.
    private static let passLimit = 1024

    /// Binds a datagram socket at `path`; `handler` gets each message's `KEY=VALUE` fields on
    /// the hub's thread. Every socket is bound before ``start()``.
    func listen(at path: String, handler: @escaping Handler) throws {
        unlink(path)
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemCallError(call: "socket(AF_UNIX, SOCK_DGRAM)", code: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw ConfigurationError("notify socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw SystemCallError(call: "bind(\(path))", code: code)
        }
        chmod(path, 0o600)
        guard shardflow_enable_passcred(descriptor) == 0 else {
            let code = errno
            close(descriptor)
            throw SystemCallError(call: "setsockopt(\(path), SO_PASSCRED)", code: code)
        }
        endpoints.withLockedValue { $0.append(Endpoint(descriptor: descriptor, path: path, handler: handler)) }
    }

    /// Starts the thread that reads every socket (call once, after the first ``listen(at:handler:)``).
    func start() throws {
        var fds: [CInt] = [-1, -1]
        guard shardflow_pipe_cloexec(&fds) == 0 else { throw SystemCallError(call: "pipe2", code: errno) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let box = Unmanaged.passRetained(self).toOpaque()
        var id = pthread_t()
        let result = pthread_create(&id, nil, { raw in
            Unmanaged<NotifyHub>.fromOpaque(raw!).takeRetainedValue().loop()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<NotifyHub>.fromOpaque(box).release()
            throw SystemCallError(call: "pthread_create", code: result)
        }
        thread = id
        flushState.withLockedValue { $0.running = true }
    }

    /// Calls `completion` once every message already waiting on the sockets went to its
    /// handler: a child's messages are queued before it exits, so flushing after its exit and
    /// before handling it keeps its last `STATUS=` from arriving late. On the hub's thread, or at
    /// once when the thread does not run.
    func flush(_ completion: @escaping @Sendable () -> Void) {
        let queued = flushState.withLockedValue { state -> Bool in
            guard state.running else { return false }
            state.completions.append(completion)
            return true
        }
        guard queued else { return completion() }
        var byte = Self.flushByte
        _ = write(wakeWrite, &byte, 1)
    }

    /// Stops the thread and waits until it has closed and removed every socket.
    func stop() {
        guard let thread else {
            // Never started: nothing else owns the sockets.
            for endpoint in endpoints.withLockedValue({ $0 }) {
                close(endpoint.descriptor)
                unlink(endpoint.path)
            }
            endpoints.withLockedValue { $0.removeAll() }
            return
        }
        self.thread = nil
        flushState.withLockedValue { $0.running = false }
        var byte = Self.stopByte
        _ = write(wakeWrite, &byte, 1)
        pthread_join(thread, nil)
        close(wakeRead)
        close(wakeWrite)
    }

    private func loop() {
        // Room for a worker's latency histogram.
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let current = endpoints.withLockedValue { $0 }
        /// Hands the next message waiting at `position` to its handler; false when none waits.
        func receive(at position: Int) -> Bool {
            var pid: Int32 = -1
            var uid: UInt32 = .max
            let count = buffer.withUnsafeMutableBytes {
                shardflow_recv_with_credentials(current[position].descriptor, $0.baseAddress, UInt($0.count), &pid, &uid)
            }
            guard count >= 0 else { return false }
            guard count > 0 else { return true }
            guard uid == getuid() || uid == 0 else {
                rejected(uid: uid, pid: pid, path: current[position].path)
                return true
            }
            current[position].handler(Self.parse(String(decoding: buffer[..<count], as: UTF8.self)))
            return true
        }
        // The wake pipe last: `stop()` and `flush(_:)` write to it.
        var fds = current.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
        var stopping = false
        while !stopping {
            for position in fds.indices { fds[position].revents = 0 }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            guard ready > 0 else { continue }  // EINTR
            guard fds[fds.count - 1].revents != 0 else {
                for position in current.indices where fds[position].revents & Int16(POLLIN) != 0 { _ = receive(at: position) }
                continue
            }
            var requests = [UInt8](repeating: 0, count: 64)
            let count = read(wakeRead, &requests, requests.count)
            stopping = requests[..<max(count, 0)].contains(Self.stopByte)
            // The flushes asked for so far (a later one wakes the loop again), then everything
            // waiting on the sockets, then their answers: each answer follows a full pass that
            // began after it was asked for.
            let completions = flushState.withLockedValue { state in
                defer { state.completions.removeAll() }
                return state.completions
            }
            for position in current.indices {
                // A socket queues at most net.unix.max_dgram_qlen messages (10 by default), so
                // this takes all that waited, while a peer that never stops sending cannot keep
                // the pass going.
                var taken = 0
                while taken < Self.passLimit, receive(at: position) { taken += 1 }
            }
            for completion in completions { completion() }
        }
        for endpoint in current {
            close(endpoint.descriptor)
            unlink(endpoint.path)
        }
    }

    /// Called (on the hub's thread) for each message dropped because of its sender.
    var onRejected: @Sendable (_ uid: UInt32, _ pid: Int32, _ path: String) -> Void = { _, _, _ in }

    private func rejected(uid: UInt32, pid: Int32, path: String) {
        onRejected(uid, pid, path)
    }

    /// Parses `READY=1\nSTATUS=…` into fields.
    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return fields
    }

    /// `STATUS=` text of the form `key=value key=value` as a dictionary.
    static func statusFields(_ status: String) -> [String: String] {
        var fields: [String: String] = [:]
        for word in status.split(separator: " ") {
            guard let equals = word.firstIndex(of: "=") else { continue }
            fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        return fields
    }
}
