import NIOCore

/// One router, mapper or reducer started by the launcher, as the launcher's I/O side sees it:
/// how to start it, its running child, its last status and its accumulated resource use. When
/// it starts, stops or restarts is the ``SupervisorStateMachine``'s decision.
final class GroupProcess: @unchecked Sendable {
    let member: SupervisorStateMachine.Member
    let arguments: [String]
    let notifyPath: String
    var child: ChildProcess?
    /// Fields of the last `STATUS=` line.
    var status: [String: String] = [:]
    /// Counters of earlier incarnations (a reducer's counts restart with it).
    var countersBeforeRestart: [String: Int] = [:]
    var usage = ResourceUse()
    /// Times the process was started after its first start.
    var restarts = 0
    private var started = false

    var name: String { member.name }
    var kind: SupervisorStateMachine.Kind { member.kind }

    init(member: SupervisorStateMachine.Member, arguments: [String], notifyPath: String) {
        self.member = member
        self.arguments = arguments
        self.notifyPath = notifyPath
    }

    /// A counter of the STATUS line (`items`, `failed`, `dead-lettered`) over all incarnations.
    func total(_ counter: String) -> Int {
        countersBeforeRestart[counter, default: 0] + (Int(status[counter] ?? "") ?? 0)
    }

    /// Notes a start (each after the first is a restart).
    func spawned() {
        if started { restarts += 1 }
        started = true
    }

    /// Keeps the last counters of an incarnation that ended.
    func incarnationEnded() {
        for counter in ["items", "failed", "retried", "dead-lettered", "expired", "filtered"] {
            countersBeforeRestart[counter, default: 0] += Int(status[counter] ?? "") ?? 0
        }
        status = [:]
    }
}
