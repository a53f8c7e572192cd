import NIOCore

/// One router, mapper or reducer started by the launcher: how to start it, whether it is ready,
/// its last status, its exits (for the crash-loop limit) and its accumulated resource use.
final class GroupProcess: @unchecked Sendable {
    enum Kind: String {
        case router, mapper, reducer
    }

    let kind: Kind
    let index: Int
    let arguments: [String]
    let notifyPath: String
    var child: ChildProcess?
    var isReady = false
    var readyWaiters: [EventLoopPromise<Void>] = []
    var stopping = false
    var exits: [NIODeadline] = []
    /// Fields of the last `STATUS=` line.
    var status: [String: String] = [:]
    /// Counters of earlier incarnations (a reducer's counts restart with it).
    var countersBeforeRestart: [String: Int] = [:]
    var usage = ResourceUse()

    var name: String { "\(kind.rawValue)-\(index)" }

    init(kind: Kind, index: Int, arguments: [String], notifyPath: String) {
        self.kind = kind
        self.index = index
        self.arguments = arguments
        self.notifyPath = notifyPath
    }

    /// A counter of the STATUS line (`items`, `failed`, `dead-lettered`) over all incarnations.
    func total(_ counter: String) -> Int {
        countersBeforeRestart[counter, default: 0] + (Int(status[counter] ?? "") ?? 0)
    }

    /// Keeps the last counters of an incarnation that ended.
    func incarnationEnded() {
        for counter in ["items", "failed", "dead-lettered"] {
            countersBeforeRestart[counter, default: 0] += Int(status[counter] ?? "") ?? 0
        }
        status = [:]
    }
}

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
