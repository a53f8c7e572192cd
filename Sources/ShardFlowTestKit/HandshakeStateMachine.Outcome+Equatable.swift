import ShardFlowCore

extension HandshakeStateMachine.Outcome: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.established(let x), .established(let y)): x == y
        case (.refused(let x), .refused(let y)): x == y
        case (.peerRefused(let x), .peerRefused(let y)): x == y
        case (.established, _), (.refused, _), (.peerRefused, _): false
        }
    }
}
