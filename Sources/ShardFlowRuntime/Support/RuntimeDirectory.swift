#if canImport(Glibc)
import Glibc
#endif

/// The directory holding a group's sockets, created owner-only (0700).
public struct RuntimeDirectory: Sendable, Hashable, CustomStringConvertible {
    public let path: String

    public init(path: String) {
        self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    /// `$SHARDFLOW_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/shardflow`, else `/run/shardflow` for
    /// root, else `/tmp/shardflow-<uid>`.
    public static var defaultPath: String {
        if let explicit = environment("SHARDFLOW_RUNTIME_DIR"), !explicit.isEmpty { return explicit }
        if let xdg = environment("XDG_RUNTIME_DIR"), !xdg.isEmpty { return xdg + "/shardflow" }
        return getuid() == 0 ? "/run/shardflow" : "/tmp/shardflow-\(getuid())"
    }

    public var description: String { path }

    public func routerSocket(_ index: Int) -> String { "\(path)/router-\(index).sock" }
    public func reducerSocket(_ index: Int) -> String { "\(path)/reducer-\(index).sock" }

    /// Creates the directory (and missing parents) with mode 0700, or checks that an existing
    /// one belongs to this user and is not accessible to others.
    public func prepare() throws {
        try Self.makeDirectories(path, mode: 0o700)
        var info = stat()
        guard stat(path, &info) == 0 else { throw SystemCallError(call: "stat(\(path))", code: errno) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw ConfigurationError("runtime directory \(path) is not a directory") }
        guard info.st_uid == getuid() else {
            throw ConfigurationError("runtime directory \(path) belongs to uid \(info.st_uid), not to this user (\(getuid()))")
        }
        if info.st_mode & 0o077 != 0 {
            guard chmod(path, 0o700) == 0 else { throw SystemCallError(call: "chmod(\(path), 0700)", code: errno) }
        }
    }

    /// `mkdir -p` with `mode` for created directories.
    public static func makeDirectories(_ path: String, mode: mode_t) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, mode) != 0, errno != EEXIST {
                throw SystemCallError(call: "mkdir(\(prefix))", code: errno)
            }
        }
    }

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
