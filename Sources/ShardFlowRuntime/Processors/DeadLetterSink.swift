import NIOCore

/// Where items go when they fail for good: `DIR/dead-letter-reducer-<index>.jsonl`, one JSON
/// object per line with the item's fields plus `reason` (`failed`, `invalid` or `expired`),
/// `error` and `attempts`, fsynced before the items are acknowledged as dead-lettered; a failed
/// write is undone before it is retried.
public final class DeadLetterSink: @unchecked Sendable {
    public var path: String { file.path }
    private let file: AppendOnlyFile

    public init(directory: String, reducerIndex: Int) throws {
        try RuntimeDirectory.makeDirectories(directory, mode: 0o750)
        file = try AppendOnlyFile(path: "\(directory)/dead-letter-reducer-\(reducerIndex).jsonl")
    }

    public func write(_ items: [ReducerStateMachine.PendingItem]) throws {
        var json = JSONWriter(buffer: ByteBuffer())
        for pending in items {
            ItemJSON.write(pending.item, into: &json) { json in
                json.key("reason")
                json.string((pending.reason ?? .failed).rawValue)
                json.key("error")
                json.string(pending.lastError ?? "failed")
                json.key("attempts")
                json.integer(pending.attempts)
            }
            json.endLine()
        }
        try file.append(json.buffer)
    }
}
