import ArgumentParser

/// `shardflow run`: how many processes of each kind, and where they meet.
public struct RunGroupOptions: ParsableArguments, Sendable {
    @Option(parsing: .unconditional, help: ArgumentHelp("Reducers (default: one per core). Items go to reducer partition(key, R).", valueName: "n"))
    public var reducers: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Mappers (default: half the cores, at least 1).", valueName: "n"))
    public var mappers: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Routers.", valueName: "n"))
    public var routers: Int = 1

    @Option(help: ArgumentHelp("Socket directory (default: a fresh private one, removed at exit).", valueName: "dir"))
    public var runtimeDir: String?

    @Option(help: ArgumentHelp(
        "Run the group from the shardflow-worker, -router, -mapper and -reducer executables in this directory (default: this executable runs every process of the group).",
        valueName: "dir"))
    public var binDir: String?

    public init() {}
}
