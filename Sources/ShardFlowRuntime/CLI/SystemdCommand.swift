import ArgumentParser
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `shardflow systemd`: the group as socket-activated systemd units — `install` writes (or
/// prints) them, `scale` changes the reducer and mapper counts of an installed group, `remove`
/// takes it away.
public struct SystemdCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "systemd",
        abstract: "Install, scale or remove the group as systemd units.",
        discussion: "See the systemd section of docs/operations.md.",
        subcommands: [SystemdInstallCommand.self, SystemdScaleCommand.self, SystemdRemoveCommand.self],
        defaultSubcommand: SystemdInstallCommand.self
    )

    public init() {}

    static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        try CheckpointStore.writeAtomically(
            ByteBuffer(string: text), to: path, directory: String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]), mode: mode)
    }

    /// `root` joined with an absolute `path`, without a doubled slash.
    static func join(_ root: String, _ path: String) -> String {
        let trimmed = root.hasSuffix("/") ? String(root.dropLast()) : root
        return trimmed + (path.hasPrefix("/") ? path : "/" + path)
    }
}
