import CSystemd
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Waiting for process and file events without sleeping: process exits through pidfds, new
/// files through inotify.
enum ProcessEvents {
    /// The pids of the processes in group `pgid` (read from /proc).
    static func members(ofGroup pgid: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // Fields after the command: state, ppid, pgrp, …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[2]) == pgid ? pid : nil
        }
    }

    /// Sends `signal` to every process of group `pgid` and waits until each has exited (its
    /// pidfd becomes readable), at most `timeout` seconds. Returns whether all exited.
    @discardableResult
    static func killGroup(_ pgid: pid_t, signal: Int32 = SIGKILL, timeout: TimeInterval = 10) -> Bool {
        let descriptors = members(ofGroup: pgid).compactMap { pid -> Int32? in
            let fd = shardflow_pidfd_open(pid)
            return fd >= 0 ? fd : nil
        }
        defer { descriptors.forEach { close($0) } }
        kill(-pgid, signal)
        var pending = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let deadline = Date().addingTimeInterval(timeout)
        while !pending.isEmpty {
            let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pending, nfds_t(pending.count), left) > 0 else { return false }
            pending = pending.filter { $0.revents == 0 }
        }
        return true
    }

    /// Waits until `path` exists (an inotify watch on its directory), at most `timeout` seconds.
    static func waitForFile(_ path: String, timeout: TimeInterval = 30) -> Bool {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { return FileManager.default.fileExists(atPath: path) }
        defer { close(fd) }
        inotify_add_watch(fd, directory, UInt32(IN_CREATE | IN_MOVED_TO))
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !FileManager.default.fileExists(atPath: path) {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(max(0, deadline.timeIntervalSinceNow * 1000))) > 0 else {
                return FileManager.default.fileExists(atPath: path)
            }
            _ = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        }
        return true
    }
}

extension ProcessEvents {
    /// Waits until the files of `directory` whose names pass `include` hold at least `lines`
    /// lines between them, re-counting whenever one is written (inotify).
    static func waitForLines(in directory: String, atLeast lines: Int, timeout: TimeInterval = 60,
                             include: (String) -> Bool = { _ in true }) -> Bool {
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { return false }
        defer { close(fd) }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        inotify_add_watch(fd, directory, UInt32(IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE))
        func count() -> Int {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return names.filter(include).reduce(0) { total, name in
                total + ((try? Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))?.filter { $0 == 0x0A }.count ?? 0)
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while count() < lines {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(max(0, deadline.timeIntervalSinceNow * 1000))) > 0 else { return count() >= lines }
            _ = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        }
        return true
    }
}
