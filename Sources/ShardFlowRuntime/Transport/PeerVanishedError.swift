/// The peer closed the connection part-way through a frame.
public struct PeerVanishedError: Error, CustomStringConvertible, Sendable {
    public var bytesHeld: Int
    public var frameLength: Int?
    public var frameType: FrameType?

    public var description: String {
        let of = frameLength.map { " of a \($0)-byte" } ?? " of a"
        let type = frameType.map { " \($0)" } ?? ""
        return "peer closed the connection in the middle of a frame (\(bytesHeld) bytes\(of)\(type) frame received)"
    }
}
