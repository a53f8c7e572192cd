#if canImport(Glibc)
import Glibc
#endif

/// Samples the proportional set size (PSS: private pages, plus shared pages divided among the
/// processes sharing them, so shared libraries count once) of the run's processes, from
/// `/proc/PID/smaps_rollup`: each named process's peak, and the peak of the sum over the
/// launcher and everything below it (workers and `exec:` children included).
struct MemorySampler {
    private(set) var peakByName: [String: Int] = [:]
    private(set) var peakSum = 0

    /// One sample: `named` processes by pid, and every descendant of `root` (and `root`).
    mutating func sample(named: [(name: String, pid: pid_t)], root: pid_t) {
        var sum = 0
        var byPid: [pid_t: Int] = [:]
        for pid in [root] + ProcessTable.descendants(of: root) {
            guard let pss = Self.proportionalBytes(of: pid) else { continue }
            byPid[pid] = pss
            sum += pss
        }
        for (name, pid) in named {
            if let pss = byPid[pid] { peakByName[name] = max(peakByName[name] ?? 0, pss) }
        }
        peakSum = max(peakSum, sum)
    }

    /// `Pss:` of `/proc/PID/smaps_rollup`, in bytes (nil when the process is gone).
    static func proportionalBytes(of pid: pid_t) -> Int? {
        guard let bytes = try? CheckpointStore.readFile("/proc/\(pid)/smaps_rollup") else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Pss:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kilobytes = Int(fields[1]) { return kilobytes * 1024 }
        }
        return nil
    }
}
