/// Exit statuses of `shardflow run` (documented in its `--help` and docs/operations.md).
public enum ExitStatus {
    /// Every shard ended and every item was acknowledged.
    public static let completed: Int32 = 0
    /// The command line or what it names is wrong (an unknown option, a count out of range, a
    /// missing file, an unwritable directory…): reported before anything starts (EX_USAGE).
    public static let usage: Int32 = 64
    /// Something failed (a process that keeps crashing, a child that cannot start); the reason
    /// is on stderr.
    public static let failed: Int32 = 1
    /// Some input lines were invalid (each reported with file and line); the rest was processed.
    public static let invalidInput: Int32 = 3
    /// Stopped by a signal, but the drain deadline (`--drain-timeout`) passed first: processes
    /// were killed, and some shards were left with records not processed (the summary names
    /// them; a rerun resumes from their checkpoints).
    public static let drainTimedOut: Int32 = 4
    /// Stopped by SIGINT (Ctrl-C).
    public static let interrupted: Int32 = 130
    /// Stopped by SIGTERM.
    public static let terminated: Int32 = 143
}
