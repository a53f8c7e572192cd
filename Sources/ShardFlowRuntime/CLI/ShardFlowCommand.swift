import ArgumentParser
import Logging

/// `shardflow`: runs a ShardFlow group on this host.
public struct ShardFlowCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "shardflow",
        abstract: "Process Kinesis and DynamoDB Streams records on every core of a machine.",
        version: ShardFlowVersion.current,
        subcommands: [Run.self, StatusCommand.self, MetricsCommand.self, SystemdCommand.self, KCLCommand.self]
    )

    public init() {}

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start routers, reducers and mappers, then the source, and supervise them to the end.",
            discussion: """
                Exit status: 0 when every shard ended and every item was acknowledged; 3 when \
                some input lines were invalid (reported with file and line; everything else was \
                processed); 4 when a stop reached --drain-timeout; 64 when the command line or \
                what it names is wrong (checked before anything starts); 130/143 after \
                SIGINT/SIGTERM (rerun to resume); 1 on failure.
                """
        )

        @OptionGroup var options: RunOptions

        func run() throws {
            tuneAllocator()
            prepareSignalHandling()
            let level = options.logging.logLevel
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let logger = Logger(label: "shardflow")
            if options.processing.keyOrdered {
                logger.warning("--key-ordered is no longer needed: every key keeps its order by default (--ordering key); ignoring it")
            }
            let launcher = Launcher(configuration: options.configuration(), logger: logger)
            ProcessExit.now(try launcher.run())
        }
    }
}
