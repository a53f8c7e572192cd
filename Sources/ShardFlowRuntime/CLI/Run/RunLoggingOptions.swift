import ArgumentParser
import Logging

/// `shardflow run`: logs and supervision.
public struct RunLoggingOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("Log level of the launcher.", valueName: "level"))
    public var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp("Log level of the group's processes.", valueName: "level"))
    public var childLogLevel: Logger.Level = .warning

    @Option(parsing: .unconditional, help: ArgumentHelp("A process exiting on its own more often than this within a minute ends the run.", valueName: "n"))
    public var restartLimit: Int = 5

    public init() {}
}
