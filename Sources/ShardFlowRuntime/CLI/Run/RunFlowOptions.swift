import ArgumentParser
import ShardFlowCore

/// `shardflow run`: backpressure, checkpoint pacing, frames and stopping.
public struct RunFlowOptions: ParsableArguments, Sendable {
    @Option(parsing: .unconditional, help: ArgumentHelp("Incomplete records per shard before the worker holds back the daemon (backpressure); it also does at \(ProcessingDefaults.heldPerPending) times as many records held behind one still incomplete.", valueName: "n"))
    public var maxPending: Int = ProcessingDefaults.maxPending

    @Option(help: ArgumentHelp("Minimum time between a shard's checkpoints.", valueName: "duration"))
    public var checkpointInterval = DurationArgument(ProcessingDefaults.checkpointInterval)

    @Option(help: ArgumentHelp("After Ctrl-C or SIGTERM, how long the stop may take: workers hand their shards back within half of it (checkpointing what is complete), then processes still running are killed.", valueName: "duration"))
    public var drainTimeout = DurationArgument(ProcessingDefaults.drainTimeout)

    @Option(parsing: .unconditional, help: ArgumentHelp("Largest frame between the group's processes, in bytes.", valueName: "bytes"))
    public var maxFrameBytes: UInt32 = FrameDecoder.defaultMaximumFrameLength

    public init() {}
}
