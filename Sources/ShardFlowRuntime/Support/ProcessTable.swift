#if canImport(Glibc)
import Glibc
#endif

/// Reads the process table (`/proc`).
enum ProcessTable {
    /// The pids whose parent is `parent`.
    static func children(of parent: pid_t) -> [pid_t] {
        parents().filter { $0.value == parent }.map(\.key).sorted()
    }

    /// Every process below `ancestor`: its children, theirs, and so on.
    static func descendants(of ancestor: pid_t) -> [pid_t] {
        let table = parents()
        var found: [pid_t] = []
        var frontier: Set<pid_t> = [ancestor]
        while !frontier.isEmpty {
            let next = table.filter { frontier.contains($0.value) }.map(\.key)
            found += next
            frontier = Set(next)
        }
        return found
    }

    /// pid → parent pid of every process.
    private static func parents() -> [pid_t: pid_t] {
        guard let directory = opendir("/proc") else { return [:] }
        defer { closedir(directory) }
        var result: [pid_t: pid_t] = [:]
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), let stat = try? readFile("/proc/\(pid)/stat"),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After the command: state, ppid, …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { result[pid] = parent }
        }
        return result
    }

    private static func readFile(_ path: String) throws -> String {
        guard let bytes = try CheckpointStore.readFile(path) else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }
}
