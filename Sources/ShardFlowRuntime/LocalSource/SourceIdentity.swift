import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `STATE/<stream>/source.json` remembers which source and shard count a stream's checkpoints
/// belong to, so a rerun with another `--shards` (which would map keys to other shards) or
/// another file under the same name is refused instead of silently skipping or repeating
/// records. A file is named by its canonical path (the same file by a relative or an absolute
/// path is the same source), and the identity is written only once the source has opened, so
/// a start that failed (a typo in the path) leaves nothing that refuses the corrected run.
enum SourceIdentity {
    /// Refuses checkpoints that belong to another source or shard count.
    static func check(_ stream: StreamSource, shards: Int, directory: String, reset: Bool) throws {
        let path = "\(directory)/source.json"
        guard !reset, let bytes = try CheckpointStore.readFile(path) else { return }
        let stored = String(decoding: bytes, as: UTF8.self)
        let current = identity(stream.specification, shards: shards)
        // Earlier versions stored the path as given: accept it when it names the same file.
        guard stored != current, stored != identity(stream.specification, shards: shards, canonical: false) else { return }
        throw ConfigurationError("""
            the state directory \(directory) holds checkpoints of another run of stream \(stream.stream): \
            \(stored.trimmed), not \(current.trimmed). \
            Use another --state or another stream name (--source NAME=…), or --reset to start over.
            """)
    }

    /// Writes the identity (once the source has opened).
    static func record(_ stream: StreamSource, shards: Int, directory: String) throws {
        var buffer = ByteBuffer()
        buffer.writeString(identity(stream.specification, shards: shards))
        try CheckpointStore.writeAtomically(buffer, to: "\(directory)/source.json", directory: directory)
    }

    static func identity(_ source: SourceSpecification, shards: Int, canonical: Bool = true) -> String {
        var specification = source
        // The pace does not change which records there are.
        if case .generate(let count, let size, let keys, _) = source { specification = .generate(count: count, size: size, keys: keys) }
        if canonical, case .file(let path) = source, let resolved = realpath(path, nil) {
            specification = .file(path: String(cString: resolved))
            free(resolved)
        }
        var json = JSONWriter(buffer: ByteBuffer())
        json.beginObject()
        json.key("source"); json.string(specification.description)
        json.key("shards"); json.integer(shards)
        json.endObject()
        json.endLine()
        return String(buffer: json.buffer)
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
