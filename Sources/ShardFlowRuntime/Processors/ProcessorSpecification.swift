import NIOCore

/// A processor named on the command line (`--processor`).
public enum ProcessorSpecification: Sendable, Hashable, CustomStringConvertible {
    case discard
    case spin(microseconds: Int)
    case jsonLines(directory: String)
    case exec(command: String)

    /// Parses `discard`, `spin:MICROSECONDS`, `jsonl:DIR` or `exec:CMD`.
    public init?(argument: String) {
        if argument == "discard" {
            self = .discard
        } else if argument.hasPrefix("spin:"), let micros = Int(argument.dropFirst(5)), micros >= 0 {
            self = .spin(microseconds: micros)
        } else if argument.hasPrefix("jsonl:"), argument.count > 6 {
            self = .jsonLines(directory: String(argument.dropFirst(6)))
        } else if argument.hasPrefix("exec:"), argument.count > 5 {
            self = .exec(command: String(argument.dropFirst(5)))
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .discard: "discard"
        case .spin(let micros): "spin:\(micros)"
        case .jsonLines(let directory): "jsonl:\(directory)"
        case .exec(let command): "exec:\(command)"
        }
    }

    public var isExec: Bool {
        if case .exec = self { true } else { false }
    }

    /// Creates the processor for reducer `index`; `timeout` bounds each batch of an `exec:`
    /// child, and `format` is how it gets batches.
    public func makeProcessor(
        reducerIndex index: Int, timeout: TimeAmount = ExecProcessor.defaultTimeout, format: ExecFormat = .native
    ) throws -> BatchProcessor {
        switch self {
        case .discard: DiscardProcessor()
        case .spin(let micros): SpinProcessor(microseconds: micros)
        case .jsonLines(let directory): try JSONLinesProcessor(directory: directory, reducerIndex: index)
        case .exec(let command): ExecProcessor(command: command, reducerIndex: index, timeout: timeout, format: format)
        }
    }
}
