#if canImport(Glibc)
import Glibc
#endif

/// Reads the process table (`/proc`). The launcher asks several times a second (it samples its
/// tree's memory), so the reads are small and parse bytes in place.
enum ProcessTable {
    /// The pids whose parent is `parent`.
    static func children(of parent: pid_t) -> [pid_t] {
        if childListsAvailable { return listedChildren(of: parent).sorted() }
        return parents().filter { $0.value == parent }.map(\.key).sorted()
    }

    /// Every process below `ancestor`: its children, theirs, and so on. The children of
    /// `leaves` (processes the caller knows start none) are not looked up.
    static func descendants(of ancestor: pid_t, leaves: Set<pid_t> = []) -> [pid_t] {
        if childListsAvailable {
            // The kernel's lists of children: a read per thread of each process of the tree,
            // not one per process on the host. Each thread looked up also costs the kernel
            // when that thread exits (it drops what it cached for the lookup), so a leaf's
            // threads are left alone.
            var found: [pid_t] = []
            var frontier = listedChildren(of: ancestor)
            while let pid = frontier.popLast() {
                found.append(pid)
                if !leaves.contains(pid) { frontier += listedChildren(of: pid) }
            }
            return found
        }
        let table = parents()
        var found: [pid_t] = []
        var frontier: Set<pid_t> = [ancestor]
        while !frontier.isEmpty {
            let next = table.filter { frontier.contains($0.value) }.map(\.key)
            found += next
            frontier = Set(next).subtracting(leaves)
        }
        return found
    }

    /// Whether the kernel keeps each thread's children in `/proc/PID/task/TID/children`
    /// (`CONFIG_PROC_CHILDREN`).
    private static let childListsAvailable: Bool = {
        let pid = getpid()
        return access("/proc/\(pid)/task/\(pid)/children", R_OK) == 0
    }()

    /// The children of every thread of `pid`.
    private static func listedChildren(of pid: pid_t) -> [pid_t] {
        guard let directory = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(directory) }
        var children: [pid_t] = []
        while let entry = readdir(directory) {
            guard let thread = number(entry) else { continue }
            withContents(of: "/proc/\(pid)/task/\(thread)/children") { bytes in
                var value: pid_t = 0
                var digits = false
                for byte in bytes {
                    if byte &- UInt8(ascii: "0") < 10 {
                        value = value &* 10 &+ pid_t(byte &- UInt8(ascii: "0"))
                        digits = true
                    } else if digits {
                        children.append(value)
                        (value, digits) = (0, false)
                    }
                }
                if digits { children.append(value) }
            }
        }
        return children
    }

    /// pid → parent pid of every process.
    private static func parents() -> [pid_t: pid_t] {
        guard let directory = opendir("/proc") else { return [:] }
        defer { closedir(directory) }
        var result: [pid_t: pid_t] = [:]
        while let entry = readdir(directory) {
            guard let pid = number(entry) else { continue }
            withContents(of: "/proc/\(pid)/stat") { stat in
                // "pid (command) state ppid …": the command may hold spaces and parentheses,
                // so the fields are counted from its last ")".
                guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return }
                var at = close + 1
                var field = 0
                var parent: pid_t = 0
                while at < stat.count {
                    let byte = stat[at]
                    if byte == UInt8(ascii: " ") {
                        field += 1
                        if field == 3 { break }
                    } else if field == 2 {
                        guard byte &- UInt8(ascii: "0") < 10 else { return }
                        parent = parent &* 10 &+ pid_t(byte &- UInt8(ascii: "0"))
                    }
                    at += 1
                }
                if field >= 2 { result[pid] = parent }
            }
        }
        return result
    }

    /// The directory entry's name as a number, if it is one (a pid or thread id).
    private static func number(_ entry: UnsafeMutablePointer<dirent>) -> pid_t? {
        withUnsafeBytes(of: entry.pointee.d_name) { name in
            var value: pid_t = 0
            var at = 0
            while at < name.count, name[at] != 0 {
                guard name[at] &- UInt8(ascii: "0") < 10 else { return nil }
                value = value &* 10 &+ pid_t(name[at] &- UInt8(ascii: "0"))
                at += 1
            }
            return at > 0 ? value : nil
        }
    }

    /// Calls `body` with the first 4 KiB of a small `/proc` file (nothing when it cannot be read).
    static func withContents(of path: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { buffer in
            var filled = 0
            while filled < buffer.count {
                let count = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                filled += count
            }
            body(UnsafeRawBufferPointer(rebasing: buffer[..<filled]))
        }
    }
}
