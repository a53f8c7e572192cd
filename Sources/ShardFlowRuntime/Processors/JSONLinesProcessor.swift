import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `jsonl:DIR`: appends each item to `DIR/reducer-<index>.jsonl` as one JSON object per line
/// and fsyncs before the batch is acknowledged, so acknowledged output survives a crash. A
/// failed write (a full disk) is undone before the batch is retried: lines never run into
/// each other and nothing is acknowledged that is not durably in the file.
public final class JSONLinesProcessor: BatchProcessor {
    public var path: String { file.path }
    private let file: AppendOnlyFile
    private var buffer = ByteBuffer()

    public init(directory: String, reducerIndex: Int) throws {
        try RuntimeDirectory.makeDirectories(directory, mode: 0o750)
        file = try AppendOnlyFile(path: "\(directory)/reducer-\(reducerIndex).jsonl")
    }

    /// Bytes of a partial last line a crash had left, removed at open.
    public var repairedBytes: Int64 { file.repairedBytes }

    public func process(_ items: [ProcessorItem]) throws -> BatchResult {
        buffer.clear()
        var json = JSONWriter(buffer: buffer)
        buffer = ByteBuffer()
        for item in items {
            ItemJSON.write(item.wire, into: &json)
            json.endLine()
        }
        buffer = json.buffer
        try file.append(buffer)
        return .success
    }
}
