#if canImport(Glibc)
import Glibc
#endif

/// Samples the proportional set size (PSS: private pages, plus shared pages divided among the
/// processes sharing them, so shared libraries count once) of the run's processes, from
/// `/proc/PID/smaps_rollup`: each named process's peak, and the peak of the sum over the
/// launcher and everything below it (workers and `exec:` children included).
///
/// Reading `smaps_rollup` makes the kernel walk the process's page tables, so a process whose
/// resident size (`statm`, a counter) moved less than ``refreshBytes`` since its last reading
/// keeps that reading for up to ``refreshSamples`` samples.
struct MemorySampler {
    private(set) var peakByName: [String: Int] = [:]
    private(set) var peakSum = 0
    /// The last reading of each process: resident and proportional bytes, samples since.
    private var last: [pid_t: (resident: Int, proportional: Int, age: Int)] = [:]

    static let refreshBytes = 1 << 20
    static let refreshSamples = 8

    /// One sample: `named` processes by pid, and every descendant of `root` (and `root`);
    /// `leaves` are processes known to start no process of their own (their children are not
    /// looked up, see ``ProcessTable/descendants(of:leaves:)``).
    mutating func sample(named: [(name: String, pid: pid_t)], root: pid_t, leaves: Set<pid_t> = []) {
        var sum = 0
        var byPid: [pid_t: Int] = [:]
        var seen: [pid_t: (resident: Int, proportional: Int, age: Int)] = [:]
        for pid in [root] + ProcessTable.descendants(of: root, leaves: leaves) {
            guard let resident = Self.residentBytes(of: pid) else { continue }
            let pss: Int
            if let previous = last[pid], abs(previous.resident - resident) < Self.refreshBytes, previous.age < Self.refreshSamples {
                pss = previous.proportional
                seen[pid] = (previous.resident, pss, previous.age + 1)
            } else {
                guard let read = Self.proportionalBytes(of: pid) else { continue }
                pss = read
                seen[pid] = (resident, pss, 0)
            }
            byPid[pid] = pss
            sum += pss
        }
        last = seen
        for (name, pid) in named {
            if let pss = byPid[pid] { peakByName[name] = max(peakByName[name] ?? 0, pss) }
        }
        peakSum = max(peakSum, sum)
    }

    /// The resident size from `/proc/PID/statm` (its second field, in pages), in bytes.
    static func residentBytes(of pid: pid_t) -> Int? {
        var result: Int?
        ProcessTable.withContents(of: "/proc/\(pid)/statm") { text in
            var field = 0
            var pages = 0
            for byte in text {
                if byte == UInt8(ascii: " ") {
                    field += 1
                    if field == 2 { break }
                } else if field == 1, byte &- UInt8(ascii: "0") < 10 {
                    pages = pages * 10 + Int(byte &- UInt8(ascii: "0"))
                }
            }
            if field >= 1 { result = pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        return result
    }

    /// `Pss:` of `/proc/PID/smaps_rollup`, in bytes (nil when the process is gone).
    static func proportionalBytes(of pid: pid_t) -> Int? {
        var result: Int?
        ProcessTable.withContents(of: "/proc/\(pid)/smaps_rollup") { text in
            // "…\nPss:              12345 kB\n…"
            let label = Array("\nPss:".utf8)
            var at = 0
            while at + label.count <= text.count {
                if text[at] == label[0], zip(label, text[at..<at + label.count]).allSatisfy({ $0 == $1 }) {
                    var position = at + label.count
                    while position < text.count, text[position] == UInt8(ascii: " ") { position += 1 }
                    var kilobytes = 0
                    var digits = false
                    while position < text.count, text[position] &- UInt8(ascii: "0") < 10 {
                        kilobytes = kilobytes * 10 + Int(text[position] &- UInt8(ascii: "0"))
                        position += 1
                        digits = true
                    }
                    if digits { result = kilobytes * 1024 }
                    return
                }
                at += 1
            }
        }
        return result
    }
}
