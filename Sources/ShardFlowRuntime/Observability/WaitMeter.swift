import NIOCore

/// Adds up the time something waited: fed whether it waits after each event, it counts the
/// time between an event that left it waiting and the next event.
struct WaitMeter: Sendable {
    private var since: NIODeadline?
    private(set) var nanoseconds: Int64 = 0

    mutating func update(waiting: Bool, now: NIODeadline) {
        if let since { nanoseconds += max(0, (now - since).nanoseconds) }
        since = waiting ? now : nil
    }

    var seconds: Double { Double(nanoseconds) / 1e9 }
}
