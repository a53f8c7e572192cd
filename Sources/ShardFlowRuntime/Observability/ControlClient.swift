#if canImport(Glibc)
import Glibc
#endif

/// Asks a process's control socket one question (`metrics`, `status`) and returns the answer.
/// Blocking, with a deadline: for `shardflow status` and for the metrics endpoint's gathering
/// thread, never for an event loop.
public enum ControlClient {
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// Nobody listens there (the process exited and left its socket file).
        case gone
        /// The process did not answer in time, or the connection broke.
        case unanswered(String)
        /// The listener runs as a user this process does not trust.
        case untrusted(uid: UInt32)

        public var description: String {
            switch self {
            case .gone: "not running"
            case .unanswered(let reason): "did not answer: \(reason)"
            case .untrusted(let uid): "listens as uid \(uid), not this user or root"
            }
        }
    }

    /// Sends `request` to the socket at `path` and reads until the process closes the connection.
    public static func ask(_ path: String, _ request: String, timeoutMilliseconds: Int32 = 2000,
                           allowedUIDs: Set<UInt32> = []) throws(Failure) -> String {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .unanswered("socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .unanswered("path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            if errno == ECONNREFUSED || errno == ENOENT { throw .gone }
            throw .unanswered("connect: \(String(cString: strerror(errno)))")
        }
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        if getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 {
            // Trusted: this user, root, an allowed user, or the owner of the socket's directory
            // when nobody else can write there (the group's user, asked by root).
            guard credentials.uid == getuid() || credentials.uid == 0 || allowedUIDs.contains(credentials.uid)
                || directoryOwner(of: path) == credentials.uid
            else {
                throw .untrusted(uid: credentials.uid)
            }
        }
        let line = Array((request + "\n").utf8)
        guard line.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == line.count else {
            throw .unanswered("write: \(String(cString: strerror(errno)))")
        }
        shutdown(descriptor, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, timeoutMilliseconds)
            if ready == 0 { throw .unanswered("no answer within \(timeoutMilliseconds) ms") }
            if ready < 0 {
                if errno == EINTR { continue }
                throw .unanswered("poll: \(String(cString: strerror(errno)))")
            }
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unanswered("read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            answer.append(contentsOf: chunk[..<count])
            guard answer.count < 64 << 20 else { throw .unanswered("answer over 64 MiB") }
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// The owner of the directory holding `path`, when it is a real directory nobody else can write.
    private static func directoryOwner(of path: String) -> UInt32? {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_mode & 0o022 == 0 else { return nil }
        return info.st_uid
    }

    /// The control sockets in `directory`, by process name (`router-0` for `router-0.sock`).
    public static func sockets(in directory: String) -> [(name: String, path: String)] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var found: [(String, String)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".sock") else { continue }
            found.append((String(name.dropLast(5)), directory + "/" + name))
        }
        return found.sorted { $0.0 < $1.0 }
    }
}
