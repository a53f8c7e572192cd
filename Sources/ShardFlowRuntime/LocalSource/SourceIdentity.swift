import NIOCore

/// `STATE/source.json` remembers which source and shard count the checkpoints belong to, so a
/// rerun with another `--shards` (which would map keys to other shards) is refused instead of
/// silently skipping or repeating records.
enum SourceIdentity {
    static func check(configuration: LaunchConfiguration, reset: Bool) throws {
        guard configuration.source.isLocal else { return }
        let path = "\(configuration.stateDirectory)/source.json"
        var json = JSONWriter(buffer: ByteBuffer())
        json.beginObject()
        json.key("source"); json.string(configuration.source.description)
        json.key("shards"); json.integer(configuration.shards)
        json.endObject()
        json.endLine()
        let current = String(buffer: json.buffer)
        if !reset, let stored = try CheckpointStore.readFile(path), String(decoding: stored, as: UTF8.self) != current {
            throw ConfigurationError("""
                the state directory \(configuration.stateDirectory) holds checkpoints of another run: \
                \(String(decoding: stored, as: UTF8.self).trimmed), not \(current.trimmed). \
                Use another --state, or --reset to start over.
                """)
        }
        try CheckpointStore.writeAtomically(json.buffer, to: path, directory: configuration.stateDirectory)
    }
}
