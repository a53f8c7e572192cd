import ShardFlowCore

extension SupervisorStateMachine.Action: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.spawn(let x), .spawn(let y)): x == y
        case (.signal(let a, let x), .signal(let b, let y)): a == b && x == y
        case (.startSource(let x), .startSource(let y)), (.stopSource(let x), .stopSource(let y)), (.killSource(let x), .killSource(let y)): x == y
        case (.killAll, .killAll): true
        case (.scheduleTimer(let x), .scheduleTimer(let y)): x == y
        case (.report(let x), .report(let y)): x == y
        case (.finish(let x), .finish(let y)): x == y
        case (.spawn, _), (.signal, _), (.startSource, _), (.stopSource, _), (.killSource, _), (.killAll, _),
             (.scheduleTimer, _), (.report, _), (.finish, _): false
        }
    }
}
