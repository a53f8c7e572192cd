import NIOCore

extension TimeAmount {
    /// "250ms", "5s", "2m".
    public var prettyDescription: String {
        let nanoseconds = self.nanoseconds
        if nanoseconds % 60_000_000_000 == 0, nanoseconds > 0 { return "\(nanoseconds / 60_000_000_000)m" }
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(nanoseconds / 1000)µs"
    }
}
