import ShardFlowCore

extension DaemonSessionStateMachine.Action: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.persist(let x), .persist(let y)): x == y
        case (.reply(let x), .reply(let y)): x == y
        case (.completed(let x), .completed(let y)): x == y
        case (.skipLine(let x), .skipLine(let y)): x == y
        case (.fail(let x), .fail(let y)): x == y
        case (.persist, _), (.reply, _), (.completed, _), (.skipLine, _), (.fail, _): false
        }
    }
}
