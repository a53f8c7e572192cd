/// CPU time and peak memory of a process (or a sum over processes).
struct ResourceUse: Sendable {
    var userSeconds = 0.0
    var systemSeconds = 0.0
    var maximumResidentBytes = 0

    mutating func add(_ usage: ChildProcess.Usage) {
        userSeconds += usage.userSeconds
        systemSeconds += usage.systemSeconds
        maximumResidentBytes = max(maximumResidentBytes, usage.maximumResidentBytes)
    }

    var cpuSeconds: Double { userSeconds + systemSeconds }
}
