import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Lines the worker writes on its stdout.
final class WorkerOutputHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let driver: DaemonSessionDriver

    init(driver: DaemonSessionDriver) {
        self.driver = driver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        driver.lineReceived(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { driver.outputClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? IOError, error.errnoCode == EPIPE { return }  // the worker exited; the reaper reports it
        driver.fail("worker pipe failed: \(error)")
        context.close(promise: nil)
    }
}
