/// One acknowledgement: a token and the item's status.
public struct Ack: Hashable, Sendable {
    public var token: Token
    public var status: AckStatus

    /// Encoded size in bytes: a token and a status byte.
    public static let encodedSize = Token.encodedSize + 1

    public init(token: Token, status: AckStatus) {
        self.token = token
        self.status = status
    }
}
