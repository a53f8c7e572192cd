import ArgumentParser
import ShardFlowCore

/// `shardflow run`: progress lines, figures, metrics and stuck records.
public struct RunOutputOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("Interval of progress lines.", valueName: "duration"))
    public var progressInterval = DurationArgument(.seconds(1))

    @Flag(help: "No progress lines (the summary is still printed).")
    public var noProgress = false

    @Option(help: ArgumentHelp("Write the run's figures as JSON to this file (default: none).", valueName: "path"))
    public var statsJson: String?

    @Option(help: ArgumentHelp(
        "Serve the Prometheus metrics of every process of the group at http://HOST:PORT/metrics (port 0: any free port, logged; default: none).",
        valueName: "host:port"))
    public var metricsListen: String?

    @Option(help: ArgumentHelp("Name a record in the progress line and the log once it has been incomplete this long.", valueName: "duration"))
    public var stuckAfter = DurationArgument(ProcessingDefaults.stuckAfter)

    public init() {}
}
