import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `STATE/<stream>/source.json` remembers which source and shard count a stream's checkpoints
/// belong to, so a rerun with another `--shards` (which would map keys to other shards) or
/// another file under the same name is refused instead of silently skipping or repeating
/// records.
enum SourceIdentity {
    static func check(_ stream: StreamSource, shards: Int, directory: String, reset: Bool) throws {
        let path = "\(directory)/source.json"
        var json = JSONWriter(buffer: ByteBuffer())
        json.beginObject()
        json.key("source"); json.string(stream.specification.description)
        json.key("shards"); json.integer(shards)
        json.endObject()
        json.endLine()
        let current = String(buffer: json.buffer)
        if !reset, let stored = try CheckpointStore.readFile(path), String(decoding: stored, as: UTF8.self) != current {
            throw ConfigurationError("""
                the state directory \(directory) holds checkpoints of another run of stream \(stream.stream): \
                \(String(decoding: stored, as: UTF8.self).trimmed), not \(current.trimmed). \
                Use another --state or another stream name (--source NAME=…), or --reset to start over.
                """)
        }
        try CheckpointStore.writeAtomically(json.buffer, to: path, directory: directory)
    }

    /// Moves checkpoints kept by an earlier version directly in `STATE/` into the one local
    /// stream's directory; with several local streams it cannot know whose they are and says so.
    /// Returns a notice when it moved them.
    static func migrateSingleStreamLayout(state: String, streams: [StreamSource]) throws -> String? {
        let old = "\(state)/checkpoints.json"
        guard try CheckpointStore.readFile(old) != nil else { return nil }
        let local = streams.filter(\.isLocal)
        guard local.count == 1, let stream = local.first else {
            throw ConfigurationError("""
                \(old) holds checkpoints of one stream kept by an earlier ShardFlow version; with several \
                sources it is unclear whose they are: run once with that source alone (they move to \
                \(state)/<stream>/), or remove the file to start those streams over
                """)
        }
        let target = "\(state)/\(stream.stream)"
        try RuntimeDirectory.makeDirectories(target, mode: 0o750)
        guard try CheckpointStore.readFile("\(target)/checkpoints.json") == nil else {
            throw ConfigurationError("both \(old) (an earlier version's) and \(target)/checkpoints.json exist: remove the one that is stale")
        }
        for file in ["checkpoints.json", "source.json"] where try CheckpointStore.readFile("\(state)/\(file)") != nil {
            guard rename("\(state)/\(file)", "\(target)/\(file)") == 0 else {
                throw SystemCallError(call: "rename(\(state)/\(file), \(target)/\(file))", code: errno)
            }
        }
        return "moved the checkpoints of an earlier ShardFlow version from \(old) to \(target)/checkpoints.json"
    }
}
