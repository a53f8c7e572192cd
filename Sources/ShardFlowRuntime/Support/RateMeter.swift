import NIOCore

/// Turns a running total into a rate over the interval since the previous reading.
final class RateMeter: @unchecked Sendable {
    private var lastTotal = 0
    private var lastTime = NIODeadline.now()

    func perSecond(total: Int) -> Double {
        let now = NIODeadline.now()
        let seconds = Double((now - lastTime).nanoseconds) / 1e9
        defer {
            lastTotal = total
            lastTime = now
        }
        guard seconds > 0 else { return 0 }
        return Double(total - lastTotal) / seconds
    }
}
