import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `jsonl:DIR`: appends each item to `DIR/reducer-<index>.jsonl` as one JSON object per line
/// and fsyncs before the batch is acknowledged, so acknowledged output survives a crash.
public final class JSONLinesProcessor: BatchProcessor {
    public let path: String
    private let descriptor: CInt
    private var buffer = ByteBuffer()

    public init(directory: String, reducerIndex: Int) throws {
        try RuntimeDirectory.makeDirectories(directory, mode: 0o755)
        path = "\(directory)/reducer-\(reducerIndex).jsonl"
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SystemCallError(call: "open(\(path))", code: errno) }
    }

    public func process(_ items: [ProcessorItem]) throws -> BatchResult {
        buffer.clear()
        var json = JSONWriter(buffer: buffer)
        buffer = ByteBuffer()
        for item in items {
            ItemJSON.write(item.wire, into: &json)
            json.endLine()
        }
        buffer = json.buffer
        try buffer.withUnsafeReadableBytes { try writeAll(descriptor, $0) }
        guard fsync(descriptor) == 0 else { throw SystemCallError(call: "fsync(\(path))", code: errno) }
        return .success
    }

    public func close() throws {
        Glibc.close(descriptor)
    }
}
