import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `shardflow status`: what every process of a group on this host says about itself — a row per
/// shard (records received and completed, incomplete ones, the oldest one's age, the daemon's
/// lag, the last checkpoint, the record holding the shard back with its attempts and last
/// error) and a row per process (state, restarts, CPU, memory, queue).
public struct StatusCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the shards and processes of a running group on this host.",
        discussion: """
            Asks each process through its control socket in <runtime-dir>/control, for a group run \
            by `shardflow run` (give its --runtime-dir) or by systemd (/run/shardflow). Exit \
            status 0 when every process answered, 1 when some did not or none runs there.
            """
    )

    @Option(help: ArgumentHelp("The group's socket directory (default: $SHARDFLOW_RUNTIME_DIR, else $XDG_RUNTIME_DIR/shardflow, else /run/shardflow for root).", valueName: "dir"))
    var runtimeDir: String?

    @Flag(help: "Print one JSON document (the rows and every process's own answer) instead of tables.")
    var json = false

    @Option(name: .customLong("allow-uid"), help: ArgumentHelp("Also trust processes running as this user id (repeatable).", valueName: "uid"))
    var allowedUIDs: [UInt32] = []

    public init() {}

    public func validate() throws {
        guard runtimeDir ?? RuntimeDirectory.defaultPath != nil else { throw ValidationError(RuntimeDirectory.noDefaultMessage) }
    }

    public func run() throws {
        let directory = (runtimeDir ?? RuntimeDirectory.defaultPath!) + "/control"
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw ConfigurationError("no ShardFlow group in \(runtimeDir ?? RuntimeDirectory.defaultPath!): \(directory) does not exist (give the group's --runtime-dir)")
        }
        let status = GroupStatus.gather(controlDirectory: directory, allowedUIDs: Set(allowedUIDs))
        print(json ? status.json() : status.table(now: ProcessMetrics.wallClock()), terminator: "")
        if status.processes.isEmpty || status.processes.contains(where: { $0.state != "running" }) { throw ExitCode(1) }
    }
}
