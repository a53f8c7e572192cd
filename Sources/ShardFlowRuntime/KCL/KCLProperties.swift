import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Writes the KCL MultiLangDaemon properties ShardFlow needs next to the user's own.
enum KCLProperties {
    /// Keys ShardFlow sets (replacing the user's values).
    static let managedKeys: Set<String> = ["executableName", "callProcessRecordsEvenForEmptyRecordList"]

    /// Reads and checks the user's properties file: it must parse, and name a stream
    /// (`streamName` or `streamArn`) and an `applicationName` (the lease table).
    static func read(_ path: String) throws -> (bytes: [UInt8], entries: [JavaProperties.Entry]) {
        let contents: [UInt8]?
        do {
            contents = try CheckpointStore.readFile(path)
        } catch let error as SystemCallError where error.code == EACCES {
            let user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(getuid())"
            throw ConfigurationError(
                "cannot read the properties file \(path): permission denied for user \(user); make it readable to that user (for example chgrp \(user) \(path); chmod 0640 \(path))")
        }
        guard let bytes = contents else {
            throw ConfigurationError("the properties file \(path) does not exist")
        }
        let entries: [JavaProperties.Entry]
        do {
            entries = try JavaProperties.parse(bytes)
        } catch {
            throw ConfigurationError("\(path):\(error.line): \(error.message)")
        }
        let keys = Set(entries.map(\.key))
        guard keys.contains("streamName") || keys.contains("streamArn") else {
            throw ConfigurationError("\(path) names no stream: set streamName (or streamArn)")
        }
        guard keys.contains("applicationName") else {
            throw ConfigurationError("\(path) has no applicationName (the KCL's lease table and consumer name)")
        }
        return (bytes, entries)
    }

    /// Copies the user's properties, sets `executableName` to the worker command,
    /// `callProcessRecordsEvenForEmptyRecordList = true` (idle shards still get checkpoint
    /// opportunities) and, unless the user chose a non-zero one, `shutdownGraceMillis = 30000`
    /// (KCL 2.x and later default to 0, which skips the graceful hand-off). Returns the path.
    static func write(userProperties path: String, workerCommand: [String], directory: String, name: String? = nil) throws -> String {
        let (bytes, entries) = try read(path)
        if let spaced = workerCommand.first(where: { $0.contains(" ") || $0.isEmpty }) {
            throw ConfigurationError("the daemon splits executableName on spaces, so \"\(spaced)\" cannot be part of it; use paths without spaces")
        }
        let grace = entries.last { $0.key == "shutdownGraceMillis" }.flatMap { Int($0.value) }
        var replaced: [Int: String] = [:]
        for entry in entries where managedKeys.contains(entry.key) || (entry.key == "shutdownGraceMillis" && grace == 0) {
            let why = entry.key == "shutdownGraceMillis" ? "replaced by ShardFlow (0 skips the graceful hand-off)" : "replaced by ShardFlow"
            for line in entry.lines { replaced[line] = why }
        }
        var output: [String] = ["# Written by ShardFlow from \(path); ShardFlow's settings are at the end."]
        for (offset, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let why = replaced[offset + 1] {
                output.append("# \(why): " + line)
            } else {
                output.append(String(line))
            }
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
