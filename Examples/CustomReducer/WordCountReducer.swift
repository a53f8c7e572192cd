import ArgumentParser
import ShardFlowRuntime

/// A reducer executable around a processor of one's own (see docs/processors.md): counts words
/// per key; fails items that are not UTF-8 so they are retried, then dead-lettered.
final class WordCounter: BatchProcessor {
    var words: [String: Int] = [:]

    func process(_ items: [ProcessorItem]) throws -> BatchResult {
        var failures: [Int: String] = [:]
        for (position, item) in items.enumerated() {
            guard let text = String(validating: item.bytes, as: UTF8.self) else {
                failures[position] = "not UTF-8"
                continue
            }
            words[item.key, default: 0] += text.split(whereSeparator: \.isWhitespace).count
        }
        return BatchResult(failures: failures)
    }
}

@main
struct WordCountReducer: ParsableCommand {
    @OptionGroup var reducer: ReducerOptions

    func run() throws {
        try ReducerRunner.run(reducer) { _ in WordCounter() }
    }
}
