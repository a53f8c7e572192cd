#if canImport(Glibc)
import Glibc
#endif

/// How long ago this process was created, from the kernel: `CLOCK_BOOTTIME` now minus the
/// process's start in clock ticks since boot (`/proc/self/stat`, field 22). Its resolution is
/// one clock tick (10 ms on Linux).
enum ProcessAge {
    /// Seconds since the process was created; nil when `/proc` cannot tell.
    static func seconds() -> Double? {
        guard let bytes = try? CheckpointStore.readFile("/proc/self/stat") else { return nil }
        let stat = String(decoding: bytes, as: UTF8.self)
        guard let afterName = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name start at field 3 (state); starttime is field 22.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        var now = timespec()
        clock_gettime(CLOCK_BOOTTIME, &now)
        let age = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
        return max(0, age)
    }
}
