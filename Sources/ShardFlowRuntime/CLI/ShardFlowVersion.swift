/// The ShardFlow version, printed by every executable's `--version`.
public enum ShardFlowVersion {
    public static let current = "0.1.0"
}
