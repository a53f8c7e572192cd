#if canImport(Glibc)
import Glibc
#endif

/// Reads the process table (`/proc`).
enum ProcessTable {
    /// The pids whose parent is `parent`.
    static func children(of parent: pid_t) -> [pid_t] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var result: [pid_t] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), let stat = try? readFile("/proc/\(pid)/stat"),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After the command: state, ppid, …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, pid_t(fields[1]) == parent { result.append(pid) }
        }
        return result
    }

    private static func readFile(_ path: String) throws -> String {
        guard let bytes = try CheckpointStore.readFile(path) else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }
}
