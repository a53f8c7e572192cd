import CSystemd
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Listening sockets passed by socket activation (`LISTEN_FDS`, `LISTEN_FDNAMES`).
public enum SocketActivation {
    /// A passed file descriptor and the name the unit gave it (`FileDescriptorName=`).
    public struct PassedSocket: Hashable, Sendable {
        public var descriptor: CInt
        public var name: String
    }

    /// The sockets passed to this process, consumed once (the environment variables are
    /// unset so children do not inherit them). Each is checked to be a listening stream
    /// socket: a Unix one, or with `allowingTCP` (the metrics endpoint) an IPv4 or IPv6 one.
    public static func takePassedSockets(allowingTCP: Bool = false) throws -> [PassedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count >= 0 else { throw SystemCallError(call: "sd_listen_fds_with_names", code: -count) }
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        var sockets: [PassedSocket] = []
        for offset in 0..<Int(count) {
            let descriptor = SD_LISTEN_FDS_START + CInt(offset)
            let name = names?[offset].map { String(cString: $0) } ?? "unknown"
            let isUnixStream = sd_is_socket_unix(descriptor, CInt(SOCK_STREAM.rawValue), 1, nil, 0) > 0
            let isTCP = allowingTCP && sd_is_socket_inet(descriptor, 0, CInt(SOCK_STREAM.rawValue), 1, 0) > 0
            guard isUnixStream || isTCP else {
                let kind = allowingTCP ? "stream socket" : "Unix stream socket"
                throw ConfigurationError("passed file descriptor \(descriptor) (\"\(name)\") is not a listening \(kind)")
            }
            sockets.append(PassedSocket(descriptor: descriptor, name: name))
        }
        return sockets
    }
}
