import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// ShardFlow's programs. Each has an executable of its own (what systemd units and the Java
/// daemon run), and the `shardflow` executable holds all of them: started under another
/// program's name (`argv[0]` ending in `/shardflow-router`, say) it runs that program. The
/// launcher starts every process of its group that way, from its own executable, so the whole
/// group shares one copy of the code in memory.
public enum ShardFlowProgram: String, CaseIterable, Sendable {
    case launcher = "shardflow"
    case worker = "shardflow-worker"
    case router = "shardflow-router"
    case mapper = "shardflow-mapper"
    case reducer = "shardflow-reducer"

    /// The program `argument0` (a process's `argv[0]`) names by its last path component, or
    /// nil when it names none of them.
    public init?(invokedAs argument0: String) {
        let name = argument0.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? argument0
        self.init(rawValue: name)
    }

    /// The program this process was started as (`argv[0]`), `fallback` when it names none.
    public static func invoked(fallback: ShardFlowProgram) -> ShardFlowProgram {
        CommandLine.arguments.first.flatMap(ShardFlowProgram.init(invokedAs:)) ?? fallback
    }

    /// Parses the command line as this program's and runs it.
    public func main() {
        switch self {
        case .launcher: ShardFlowCommand.main()
        case .worker: WorkerCommand.main()
        case .router: RouterCommand.main()
        case .mapper: MapperCommand.main()
        case .reducer: ReducerCommand.main()
        }
    }

    /// Names the process after this program (`/proc/PID/comm`, what `ps`, `top` and `pgrep`
    /// show; the kernel keeps 15 characters): a process the `shardflow` executable runs as
    /// another program is otherwise called `shardflow`.
    public func nameProcess() {
        let descriptor = open("/proc/self/comm", O_WRONLY)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let name = Array(rawValue.utf8.prefix(15))
        _ = name.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
