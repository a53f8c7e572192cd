import ArgumentParser

/// `shardflow systemd scale`: changes the reducer or mapper count of an installed group — the
/// counts in its configuration (nothing else there), the instances enabled, and restarts of
/// what reads the counts — running each `systemctl` command and printing it.
public struct SystemdScaleCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Change the reducer or mapper count of a group installed as systemd units.",
        discussion: """
            Scaling reducers up enables the new shardflow-reducer@ sockets, writes the count, and \
            restarts the mappers (they read it at start). Scaling down writes the count and \
            restarts the mappers first, so nothing new goes to the reducers being removed, then \
            stops and disables those (each finishes what it holds). Mappers: the router reads \
            their count, so it restarts (its workers resend what was incomplete). Items in flight \
            are delivered again, never lost. --dry-run prints the commands without running them.
            """
    )

    @Option(parsing: .unconditional, help: "The new reducer count.")
    var reducers: Int?

    @Option(parsing: .unconditional, help: "The new mapper count.")
    var mappers: Int?

    @Flag(help: "Print what would be done, change nothing.")
    var dryRun = false

    @Option(help: .hidden)
    var root: String = "/"

    public init() {}

    public func validate() throws {
        guard reducers != nil || mappers != nil else { throw ValidationError("give --reducers N, --mappers M or both") }
        if let reducers, reducers <= 0 || reducers > 10_000 { throw ValidationError("--reducers \(reducers): must be between 1 and 10000") }
        if let mappers, mappers <= 0 || mappers > 1000 { throw ValidationError("--mappers \(mappers): must be between 1 and 1000") }
    }

    public func run() throws {
        let host = SystemdHost(root: root, dryRun: dryRun)
        var text = try host.readConfiguration()
        let oldReducers = text.configurationValue("SHARDFLOW_REDUCERS").flatMap { Int($0) } ?? host.enabledInstances("shardflow-reducer@", suffix: ".socket").count
        let routerOptions = text.configurationValue("SHARDFLOW_ROUTER_OPTIONS") ?? ""
        let oldMappers = Self.mapperCount(in: routerOptions) ?? host.enabledInstances("shardflow-mapper@", suffix: ".service").count
        let newReducers = reducers ?? oldReducers
        let newMappers = mappers ?? oldMappers
        let enabledReducers = Set(host.enabledInstances("shardflow-reducer@", suffix: ".socket"))
        let enabledMappers = Set(host.enabledInstances("shardflow-mapper@", suffix: ".service"))
        print("# reducers \(oldReducers) → \(newReducers), mappers \(oldMappers) → \(newMappers)")

        let addedReducers = (0..<newReducers).filter { !enabledReducers.contains($0) }
        if !addedReducers.isEmpty {
            try host.run(["systemctl", "enable", "--now"] + addedReducers.map { "shardflow-reducer@\($0).socket" })
        }
        let removedMappers = enabledMappers.filter { $0 >= newMappers }.sorted()
        if !removedMappers.isEmpty {
            try host.run(["systemctl", "disable", "--now"] + removedMappers.map { "shardflow-mapper@\($0).service" })
        }
        text = text.settingConfigurationValue("SHARDFLOW_REDUCERS", to: String(newReducers))
        text = text.settingConfigurationValue("SHARDFLOW_ROUTER_OPTIONS", to: Self.settingMapperCount(newMappers, in: routerOptions))
        try host.writeConfiguration(text)
        if newMappers != oldMappers { try host.run(["systemctl", "restart", "shardflow-router.service"]) }
        let addedMappers = (0..<newMappers).filter { !enabledMappers.contains($0) }
        if !addedMappers.isEmpty {
            try host.run(["systemctl", "enable", "--now"] + addedMappers.map { "shardflow-mapper@\($0).service" })
        }
        if newReducers != oldReducers { try host.run(["systemctl", "restart", "shardflow-mapper@*.service"]) }
        let removedReducers = enabledReducers.filter { $0 >= newReducers }.sorted()
        if !removedReducers.isEmpty {
            try host.run(["systemctl", "disable", "--now"]
                + removedReducers.flatMap { ["shardflow-reducer@\($0).socket", "shardflow-reducer@\($0).service"] })
        }
        print(dryRun ? "# dry run: nothing was changed" : "# done: \(newReducers.counted("reducer")), \(newMappers.counted("mapper"))")
    }

    /// The `--mappers N` of the router's options.
    static func mapperCount(in options: String) -> Int? {
        let words = options.split(separator: " ")
        guard let index = words.firstIndex(of: "--mappers"), index + 1 < words.count else { return nil }
        return Int(words[index + 1])
    }

    static func settingMapperCount(_ count: Int, in options: String) -> String {
        var words = options.split(separator: " ").map(String.init)
        if let index = words.firstIndex(of: "--mappers"), index + 1 < words.count {
            words[index + 1] = String(count)
        } else {
            words += ["--mappers", String(count)]
        }
        return words.joined(separator: " ")
    }
}
