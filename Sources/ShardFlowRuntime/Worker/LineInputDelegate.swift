import NIOCore

/// Receives the lines of a MultiLangDaemon pipe and its end.
protocol LineInputDelegate: AnyObject {
    func lineReceived(_ line: ByteBuffer)
    func inputClosed()
    func inputFailed(_ error: Error)
}
