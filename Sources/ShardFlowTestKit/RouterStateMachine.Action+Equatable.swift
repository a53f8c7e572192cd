import ShardFlowCore

extension RouterStateMachine.Action: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.send(let a, let x), .send(let b, let y)): a == b && x == y
        case (.close(let a, let x), .close(let b, let y)): a == b && x == y
        case (.report(let x), .report(let y)): x == y
        case (.send, _), (.close, _), (.report, _): false
        }
    }
}
