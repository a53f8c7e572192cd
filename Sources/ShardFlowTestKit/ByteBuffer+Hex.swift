import NIOCore

extension ByteBuffer {
    /// A buffer from hex text; spaces and newlines are ignored.
    public init(hex: String) {
        self.init(bytes: [UInt8](hex: hex))
    }

    public var hexString: String {
        readableBytesView.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
    }
}
