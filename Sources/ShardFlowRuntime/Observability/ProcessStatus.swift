import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The fields every process's `status` answer starts with: who it is and what it uses.
enum ProcessStatus {
    /// When this process started (Unix time), from the kernel: boot time plus the process's
    /// start in clock ticks since boot (`/proc/self/stat`, field 22).
    static let startTime: Double = {
        guard let stat = try? CheckpointStore.readFile("/proc/self/stat").map({ String(decoding: $0, as: UTF8.self) }),
              let boot = try? CheckpointStore.readFile("/proc/stat").map({ String(decoding: $0, as: UTF8.self) }),
              let afterName = stat.lastIndex(of: ")"),
              let bootLine = boot.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let bootTime = Double(bootLine.dropFirst(6))
        else { return ProcessMetrics.wallClock() }
        // Fields after the command name start at field 3 (state); starttime is field 22.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return ProcessMetrics.wallClock() }
        return bootTime + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }()

    /// Opens the status object and writes the common fields; the caller adds its role's fields
    /// and ends the object.
    static func begin(_ json: inout JSONWriter, process: String, role: String) {
        let usage = ProcessMetrics.usage()
        json.beginObject()
        json.key("process"); json.string(process)
        json.key("role"); json.string(role)
        json.key("pid"); json.integer(getpid())
        json.key("startTime"); json.number(text: startTime.fixed(3))
        json.key("cpuSeconds"); json.number(text: usage.cpuSeconds.fixed(3))
        json.key("residentBytes"); json.integer(usage.residentBytes)
        json.key("proportionalBytes"); json.integer(usage.proportionalBytes)
    }

    static func end(_ json: inout JSONWriter) -> String {
        json.endObject()
        return String(buffer: json.buffer)
    }
}
