#if canImport(Glibc)
import Glibc
#endif

/// The directory holding a group's sockets. Only the group's own user may be able to put a
/// socket there: a listener creates it owner-only (0700); a process that connects first checks
/// that it is a real directory (not a symbolic link) owned by its own user or root and writable
/// by nobody else, so it never hands records to a socket another user planted.
public struct RuntimeDirectory: Sendable, Hashable, CustomStringConvertible {
    public let path: String

    public init(path: String) {
        self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    /// `$SHARDFLOW_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/shardflow`, else `/run/shardflow` for
    /// root; nil for another user without `XDG_RUNTIME_DIR` (a predictable shared path such as
    /// one under /tmp could be created by someone else first).
    public static var defaultPath: String? {
        if let explicit = environment("SHARDFLOW_RUNTIME_DIR"), !explicit.isEmpty { return explicit }
        if let xdg = environment("XDG_RUNTIME_DIR"), !xdg.isEmpty { return xdg + "/shardflow" }
        return getuid() == 0 ? "/run/shardflow" : nil
    }

    /// What to tell a user when there is no default.
    public static let noDefaultMessage = """
        no runtime directory: set --runtime-dir to a directory only you can write to (or set \
        XDG_RUNTIME_DIR, as a login session does)
        """

    public var description: String { path }

    public func routerSocket(_ index: Int) -> String { "\(path)/router-\(index).sock" }
    public func reducerSocket(_ index: Int) -> String { "\(path)/reducer-\(index).sock" }

    /// For a listener: creates the directory (and missing parents) with mode 0700, or checks
    /// that an existing one is a real directory of this user, and makes it owner-only.
    public func prepare() throws {
        try Self.makeDirectories(path, mode: 0o700)
        let info = try Self.inspect(path, what: "runtime directory")
        guard info.st_uid == getuid() else {
            throw ConfigurationError("runtime directory \(path) belongs to uid \(info.st_uid), not to this user (\(getuid())); use a directory of your own (--runtime-dir)")
        }
        if info.st_mode & 0o077 != 0 {
            guard chmod(path, 0o700) == 0 else { throw SystemCallError(call: "chmod(\(path), 0700)", code: errno) }
        }
    }

    /// For a process about to connect to a socket in `directory`: throws unless the directory
    /// is a real directory owned by this user or root and writable by nobody else.
    public static func verifyForConnecting(_ directory: String) throws {
        let info = try inspect(directory, what: "socket directory")
        guard info.st_uid == getuid() || info.st_uid == 0 else {
            throw ConfigurationError("refusing to connect: the socket directory \(directory) belongs to uid \(info.st_uid), not to this user (\(getuid())) or root; another user could have put its own socket there")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw ConfigurationError("refusing to connect: the socket directory \(directory) is writable by others (mode \(String(info.st_mode & 0o777, radix: 8))); make it 0700 or 0750")
        }
    }

    /// `lstat` of a directory that must not be a symbolic link.
    private static func inspect(_ path: String, what: String) throws -> stat {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw SystemCallError(call: "lstat(\(path))", code: errno) }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            return info
        case S_IFLNK:
            throw ConfigurationError("the \(what) \(path) is a symbolic link; it is not followed: use the real directory")
        default:
            throw ConfigurationError("the \(what) \(path) is not a directory")
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
