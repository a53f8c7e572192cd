/// Writes the KCL MultiLangDaemon properties ShardFlow needs next to the user's own.
enum KCLProperties {
    /// Keys ShardFlow sets (replacing the user's values).
    static let managedKeys: Set<String> = ["executableName", "callProcessRecordsEvenForEmptyRecordList"]

    /// Copies the user's properties, sets `executableName` to the worker command,
    /// `callProcessRecordsEvenForEmptyRecordList = true` (idle shards still get checkpoint
    /// opportunities) and, unless the user chose a non-zero one, `shutdownGraceMillis = 30000`
    /// (KCL 2.x and later default to 0, which skips the graceful hand-off). Returns the path.
    static func write(userProperties path: String, workerCommand: [String], directory: String, name: String? = nil) throws -> String {
        guard let bytes = try CheckpointStore.readFile(path) else {
            throw ConfigurationError("the properties file \(path) does not exist")
        }
        if let spaced = workerCommand.first(where: { $0.contains(" ") || $0.isEmpty }) {
            throw ConfigurationError("the daemon splits executableName on spaces, so \"\(spaced)\" cannot be part of it; use paths without spaces")
        }
        var output: [String] = ["# Written by shardflow run from \(path); ShardFlow's settings are at the end."]
        var grace: Int?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmed
            let keyPart = trimmed.split(whereSeparator: { $0 == "=" || $0 == ":" }).first ?? ""
            let key = keyPart.trimmed
            if managedKeys.contains(key) {
                output.append("# replaced by ShardFlow: " + trimmed)
                continue
            }
            if key == "shutdownGraceMillis", let value = trimmed.split(separator: "=", maxSplits: 1).last {
                grace = Int(value.trimmed)
                if grace == 0 {
                    output.append("# replaced by ShardFlow (0 skips the graceful hand-off): " + trimmed)
                    continue
                }
            }
            output.append(String(line))
        }
        output.append("executableName = " + workerCommand.joined(separator: " "))
        output.append("callProcessRecordsEvenForEmptyRecordList = true")
        if grace == nil || grace == 0 { output.append("shutdownGraceMillis = 30000") }
        let target = "\(directory)/\(name ?? "shardflow-kcl.properties")"
        var buffer = ByteBuffer()
        buffer.writeString(output.joined(separator: "\n") + "\n")
        try CheckpointStore.writeAtomically(buffer, to: target, directory: directory)
        return target
    }
}

import NIOCore
