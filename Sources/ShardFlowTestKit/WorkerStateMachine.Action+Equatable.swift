import ShardFlowCore

extension WorkerStateMachine.Action: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.writeLine(let x), .writeLine(let y)): x == y
        case (.connect(let x), .connect(let y)): x == y
        case (.send(let a, let x), .send(let b, let y)): a == b && x == y
        case (.close(let a, let x), .close(let b, let y)): a == b && x == y
        case (.scheduleTimer(let x), .scheduleTimer(let y)): x == y
        case (.report(let x), .report(let y)): x == y
        case (.exit(let x), .exit(let y)): x == y
        case (.writeLine, _), (.connect, _), (.send, _), (.close, _), (.scheduleTimer, _), (.report, _), (.exit, _): false
        }
    }
}
