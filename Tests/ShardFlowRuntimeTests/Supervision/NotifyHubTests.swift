import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import ShardFlowRuntime

#if canImport(Glibc)
import Glibc
#endif

@Suite("Notify hub")
struct NotifyHubTests {
    /// Sends `text` as one datagram to the socket at `path`, as `sd_notify` does.
    static func send(_ text: String, to path: String) {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let sent = Array(text.utf8).withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        precondition(sent == text.utf8.count, "sendto \(path): errno \(errno)")
    }

    @Test("a flush hands every message already queued to its handler before it completes (a child's last STATUS before its exit)")
    func flushTakesQueuedMessages() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let hub = NotifyHub()
        let received = NIOLockedValueBox<[String]>([])
        let path = directory.path + "/notify.sock"
        try hub.listen(at: path) { fields in
            usleep(2_000)  // a slow handler: the messages are still queued when the flush is asked for
            received.withLockedValue { $0.append(fields["STATUS"] ?? "") }
        }
        try hub.start()
        defer { hub.stop() }
        for count in 1...20 { Self.send("STATUS=items=\(count)", to: path) }
        let seen = NIOLockedValueBox<[String]?>(nil)
        let flushed = DispatchSemaphore(value: 0)
        hub.flush {
            seen.withLockedValue { $0 = received.withLockedValue { $0 } }
            flushed.signal()
        }
        #expect(flushed.wait(timeout: .now() + 10) == .success)
        #expect(seen.withLockedValue { $0 } == (1...20).map { "items=\($0)" }, "every message, in order, before the flush completed")
    }

    @Test("a flush of a hub that does not run completes at once")
    func flushWithoutThread() {
        let hub = NotifyHub()
        let done = NIOLockedValueBox(false)
        hub.flush { done.withLockedValue { $0 = true } }
        #expect(done.withLockedValue { $0 })
    }
}
