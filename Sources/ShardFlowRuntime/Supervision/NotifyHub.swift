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
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        pthread_join(thread, nil)
        close(wakeRead)
        close(wakeWrite)
    }

    private func loop() {
        // Room for a worker's latency histogram.
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let current = endpoints.withLockedValue { $0 }
        // The wake pipe last: `stop()` writes to it.
        var fds = current.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
        while true {
            for position in fds.indices { fds[position].revents = 0 }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            guard ready > 0 else { continue }  // EINTR
            if fds[fds.count - 1].revents != 0 { break }
            for (position, fd) in fds.dropLast().enumerated() where fd.revents & Int16(POLLIN) != 0 {
                var pid: Int32 = -1
                var uid: UInt32 = .max
                let count = buffer.withUnsafeMutableBytes {
                    shardflow_recv_with_credentials(fd.fd, $0.baseAddress, UInt($0.count), &pid, &uid)
                }
                guard count > 0 else { continue }
                guard uid == getuid() || uid == 0 else {
                    rejected(uid: uid, pid: pid, path: current[position].path)
                    continue
                }
                current[position].handler(Self.parse(String(decoding: buffer[..<count], as: UTF8.self)))
            }
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
