#if canImport(Glibc)
import Glibc
#endif

/// Ends a ShardFlow executable with its exit status once its work is done.
public enum ProcessExit {
    /// Exits with `code` at once (`exit` flushes standard output). Throwing ArgumentParser's
    /// `ExitCode` instead would have it build the command's help text on the way out — a
    /// millisecond or two of CPU in every process of a group that stops.
    public static func now(_ code: Int32) -> Never {
        exit(code)
    }
}
