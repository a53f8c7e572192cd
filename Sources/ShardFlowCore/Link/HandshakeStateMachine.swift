/// The handshake that opens every connection, for one connection: each side sends its HELLO
/// first and checks the peer's. Every role's state machine composes one per connection.
///
/// A listener accepts peers of some roles (a router: workers and mappers; a reducer: mappers);
/// a connecting side expects one peer (a mapper dialling router 0 expects router 0). Anything
/// else is refused with an ERROR frame whose code says why: not a HELLO first (protocol
/// violation), another protocol version (version mismatch), a role or index this side does not
/// serve (role rejected). Rules that depend on the role's own state (a draining router, an
/// index already connected) are the composing machine's.
public struct HandshakeStateMachine: Sendable, Hashable {
    /// Which peers this side of the connection expects.
    public enum Policy: Sendable, Hashable {
        /// A listener of role `own`: peers of these roles may connect, each role with the
        /// number of indices the group has (`n`: indices `0..<n`), or nil when it is not known.
        case accepting(own: PeerRole, roles: [PeerRole: Int?])
        /// A connecting side: the peer must be this role, with this index when given.
        case connecting(to: PeerRole, index: UInt32?)
    }

    /// What the peer's first frame established.
    public enum Outcome: Sendable {
        case established(Hello)
        /// Send this error and close the connection.
        case refused(ErrorFrame)
        /// The peer sent an ERROR instead of its HELLO (it refused this side): close.
        case peerRefused(ErrorFrame)
    }

    private enum State: Sendable, Hashable {
        case awaitingHello
        case established(Hello)
        case refused
    }

    public let policy: Policy
    private var state = State.awaitingHello

    public init(policy: Policy) {
        self.policy = policy
    }

    /// The peer's HELLO, once accepted.
    public var peer: Hello? {
        if case .established(let hello) = state { return hello }
        return nil
    }

    public var isEstablished: Bool { peer != nil }

    /// The peer's first frame arrived.
    public mutating func firstFrameReceived(_ frame: Frame) -> Outcome {
        precondition(state == .awaitingHello, "the handshake already ended")
        let outcome = Self.check(frame, against: policy)
        switch outcome {
        case .established(let hello): state = .established(hello)
        case .refused, .peerRefused: state = .refused
        }
        return outcome
    }

    private static func check(_ frame: Frame, against policy: Policy) -> Outcome {
        if case .error(let error) = frame { return .peerRefused(error) }
        guard case .hello(let hello) = frame else {
            return .refused(ErrorFrame(code: .protocolViolation, message: "expected HELLO first, got \(frame.type)"))
        }
        guard hello.version == Hello.currentVersion else {
            return .refused(ErrorFrame(
                code: .versionMismatch,
                message: "protocol version \(hello.version) is not \(Hello.currentVersion); run the same ShardFlow version in the whole group"))
        }
        switch policy {
        case .accepting(let own, let roles):
            guard let count = roles[hello.role] else {
                let served = PeerRole.allCases.filter { roles[$0] != nil }.map { "\($0)s" }.joined(separator: " and ")
                return .refused(ErrorFrame(code: .roleRejected, message: "a \(own) accepts \(served), not a \(hello.role)"))
            }
            if let count, Int(hello.index) >= count {
                return .refused(ErrorFrame(
                    code: .roleRejected,
                    message: "\(hello.role) \(hello.index) is outside this group's \(hello.role)s 0..<\(count) (this \(own) was started with --\(hello.role)s \(count))"))
            }
        case .connecting(let role, let index):
            guard hello.role == role, index.map({ $0 == hello.index }) ?? true else {
                let expected = index.map { "\(role) \($0)" } ?? "a \(role)"
                return .refused(ErrorFrame(
                    code: .roleRejected, message: "expected \(expected), but the peer is \(hello.role) \(hello.index)"))
            }
        }
        return .established(hello)
    }
}
