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
    /// Items processed by earlier incarnations (a reducer's count restarts with it).
    var itemsBeforeRestart = 0
    var usage = ResourceUse()

    var name: String { "\(kind.rawValue)-\(index)" }

    init(kind: Kind, index: Int, arguments: [String], notifyPath: String) {
        self.kind = kind
        self.index = index
        self.arguments = arguments
        self.notifyPath = notifyPath
    }

    /// Items processed by this reducer over all its incarnations.
    var itemsProcessed: Int { itemsBeforeRestart + (Int(status["items"] ?? "") ?? 0) }
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
