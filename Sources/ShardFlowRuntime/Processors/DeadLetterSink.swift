import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Where items go when they fail for good: `DIR/dead-letter-reducer-<index>.jsonl`, one JSON
/// object per line with the item's fields plus `error` and `attempts`, fsynced before the items
/// are acknowledged as dead-lettered.
public final class DeadLetterSink: @unchecked Sendable {
    public let path: String
    private let descriptor: CInt

    public init(directory: String, reducerIndex: Int) throws {
        try RuntimeDirectory.makeDirectories(directory, mode: 0o755)
        path = "\(directory)/dead-letter-reducer-\(reducerIndex).jsonl"
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SystemCallError(call: "open(\(path))", code: errno) }
    }

    public func write(_ items: [ReducerStateMachine.PendingItem]) throws {
        var json = JSONWriter(buffer: ByteBuffer())
        for pending in items {
            ItemJSON.write(pending.item, into: &json) { json in
                json.key("error")
                json.string(pending.lastError ?? "failed")
                json.key("attempts")
                json.integer(pending.attempts)
            }
            json.endLine()
        }
        try json.buffer.withUnsafeReadableBytes { try writeAll(descriptor, $0) }
        guard fsync(descriptor) == 0 else { throw SystemCallError(call: "fsync(\(path))", code: errno) }
    }

    deinit { close(descriptor) }
}
