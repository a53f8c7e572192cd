import Logging
import NIOConcurrencyHelpers

/// A log line that may repeat without bound (one per refused connection, per bad record, per
/// failed retry): the first ten are logged, then every hundredth with the count, so a flood of
/// the same fault cannot flood the log.
final class RateLimitedLog: Sendable {
    private let logger: Logger
    private let count = NIOLockedValueBox(0)

    init(logger: Logger) {
        self.logger = logger
    }

    func warning(_ message: @autoclosure () -> String) {
        let seen = count.withLockedValue { count in
            count += 1
            return count
        }
        if seen <= 10 {
            logger.warning("\(message())\(seen == 10 ? " (further ones: every 100th)" : "")")
        } else if seen % 100 == 0 {
            logger.warning("\(message()) (\(seen) so far)")
        }
    }
}
