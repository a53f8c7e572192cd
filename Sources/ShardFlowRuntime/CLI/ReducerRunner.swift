import ArgumentParser
import Logging
import NIOPosix

/// Runs a reducer process around a processor: what `shardflow-reducer` does, and what a
/// custom reducer executable calls (see `Examples/CustomReducer`).
public enum ReducerRunner {
    /// Parses nothing: `options` come from the caller's command. Never returns normally: throws
    /// `ExitCode` with the process's exit status.
    public static func run(_ options: ReducerOptions, processor makeProcessor: (_ index: Int) throws -> BatchProcessor) throws {
        tuneAllocator()
        prepareSignalHandling()
        let logger = options.common.bootstrapLogging(label: "shardflow-reducer-\(options.index)")
        let path = options.socket ?? options.common.runtimeDirectory.reducerSocket(Int(options.index))
        let listen = try ListenAddress.resolve(activationName: "reducer", fallbackPath: path)
        // A socket passed by systemd needs no directory of ours; one we bind does.
        if case .path = listen, options.socket == nil { try options.common.runtimeDirectory.prepare() }
        var configuration = ReducerService.Configuration(index: options.index, listen: listen)
        configuration.transport = options.common.transport
        configuration.machine.batchSize = options.batching.batchSize
        configuration.machine.batchTimeout = options.batching.batchTimeout.amount
        configuration.machine.retries = options.batching.retries
        configuration.machine.mapperCount = options.mappers
        configuration.machine.retryBackoff.initial = options.batching.retryDelay.amount
        configuration.machine.retryBackoff.maximum = max(options.batching.maxRetryDelay.amount, options.batching.retryDelay.amount)
        configuration.machine.mapperWindow = Credit(count: options.mapperWindowItems, bytes: options.mapperWindowBytes)
        configuration.machine.maxRecordAge = options.batching.maxRecordAge?.amount
        configuration.deadLetterDirectory = options.deadLetter
        configuration.processorTimeout = options.batching.processorTimeout.amount
        configuration.controlDirectory = options.common.runtimeDirectory.path + "/control"
        configuration.stuckAfter = options.stuckAfter.amount
        let processor = try makeProcessor(Int(options.index))
        if let jsonl = processor as? JSONLinesProcessor, jsonl.repairedBytes > 0 {
            logger.warning("\(jsonl.path) ended in a partial line (\(jsonl.repairedBytes) bytes, left by a crash in the middle of a write); removed it — its items were never acknowledged and are delivered again")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let service = try ReducerService(configuration: configuration, processor: processor, eventLoop: group.next(), logger: logger)
        let code = ProcessLifecycle.run(
            eventLoop: group.next(), logger: logger, drainTimeout: options.drainTimeout.amount,
            hooks: .init(start: service.start, drain: service.drain(reason:), status: { service.status })
        )
        // No event-loop shutdown: the process exits now, and NIO's shutdown would start a
        // libdispatch thread, which a sandboxed systemd service forbids to set its priority.
        ProcessExit.now(code)
    }
}
