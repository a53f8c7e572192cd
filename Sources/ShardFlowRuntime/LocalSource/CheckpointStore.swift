import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The local source's checkpoints: `STATE/checkpoints.json`, shard id →
/// `{"sequenceNumber": "…", "subSequenceNumber": n}` (or `"SHARD_END"` as the sequence
/// number), written atomically (temporary file, fsync, rename, fsync of the directory) so a
/// crash leaves either the old or the new file, never a torn one.
public struct CheckpointStore: Sendable {
    public let directory: String
    public private(set) var checkpoints: [String: Checkpoint] = [:]

    public var path: String { "\(directory)/checkpoints.json" }

    /// Loads `directory/checkpoints.json` if present.
    public init(directory: String) throws {
        self.directory = directory
        try RuntimeDirectory.makeDirectories(directory, mode: 0o750)
        guard let bytes = try Self.readFile(path) else { return }
        checkpoints = try Self.parse(bytes, path: path)
    }

    public mutating func update(_ shardId: String, to checkpoint: Checkpoint) throws {
        checkpoints[shardId] = checkpoint
        try save()
    }

    public mutating func removeAll() throws {
        checkpoints = [:]
        try save()
    }

    public func save() throws {
        var buffer = ByteBuffer(string: "{")
        for (position, shardId) in checkpoints.keys.sorted().enumerated() {
            let checkpoint = checkpoints[shardId]!
            var json = JSONWriter(buffer: ByteBuffer())
            json.key(shardId)
            json.beginObject()
            json.key("sequenceNumber")
            json.string(checkpoint.sequenceNumberText)
            json.key("subSequenceNumber")
            json.optionalInteger(checkpoint.subSequenceNumber)
            json.endObject()
            buffer.writeString(position == 0 ? "\n  " : ",\n  ")
            buffer.writeImmutableBuffer(json.buffer)
        }
        buffer.writeString(checkpoints.isEmpty ? "}\n" : "\n}\n")
        try Self.writeAtomically(buffer, to: path, directory: directory)
    }

    static func parse(_ bytes: [UInt8], path: String) throws -> [String: Checkpoint] {
        try bytes.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            var result: [String: Checkpoint] = [:]
            do {
                try scanner.beginObject()
                while let key = try scanner.nextKey() {
                    let shardId = try scanner.string(key)
                    var sequenceNumber: String?
                    var subSequenceNumber: Int64?
                    try scanner.beginObject()
                    while let field = try scanner.nextKey() {
                        if scanner.string(field, equals: "sequenceNumber") {
                            sequenceNumber = try scanner.string(try scanner.readString())
                        } else if scanner.string(field, equals: "subSequenceNumber") {
                            subSequenceNumber = try scanner.readOptionalInteger()
                        } else {
                            try scanner.skipValue()
                        }
                    }
                    guard let sequenceNumber, let checkpoint = Checkpoint(sequenceNumber: sequenceNumber, subSequenceNumber: subSequenceNumber) else {
                        throw ConfigurationError("\(path): shard \(shardId) has no valid sequenceNumber")
                    }
                    result[shardId] = checkpoint
                }
                try scanner.expectEnd()
            } catch let error as JSONError {
                throw ConfigurationError("\(path) is not valid checkpoint JSON: \(error); fix or remove it (or use --reset)")
            }
            return result
        }
    }

    /// The file's bytes, or nil when it does not exist.
    static func readFile(_ path: String) throws -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw SystemCallError(call: "open(\(path))", code: errno)
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "read(\(path))", code: errno)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<count])
        }
    }

    /// Replaces `path` with `contents` so that a crash leaves the old or the new file, whole:
    /// a temporary file is written and fsynced, renamed over `path`, and the directory fsynced.
    /// Any failure (a full disk) leaves the old file and throws an error naming the call.
    static func writeAtomically(_ contents: ByteBuffer, to path: String, directory: String, mode: mode_t = 0o640) throws {
        let temporary = "\(path).tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw SystemCallError(call: "open(\(temporary))", code: errno) }
        do {
            try contents.withUnsafeReadableBytes { try writeAll(descriptor, $0) }
            guard fsync(descriptor) == 0 else { throw SystemCallError(call: "fsync(\(temporary))", code: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw SystemCallError(call: "rename(\(temporary), \(path))", code: code)
        }
        let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else { throw SystemCallError(call: "open(\(directory))", code: errno) }
        defer { close(directoryDescriptor) }
        guard fsync(directoryDescriptor) == 0 else { throw SystemCallError(call: "fsync(\(directory))", code: errno) }
    }
}
