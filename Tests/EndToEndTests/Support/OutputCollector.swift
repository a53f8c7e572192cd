import Foundation

/// Reads a child's stdout and stderr on background threads (so full pipes never block it) and
/// wakes whoever waits for some text to appear: tests wait on what a process says, not on time.
final class OutputCollector: @unchecked Sendable {
    private var stdout = Data()
    private var stderr = Data()
    private var open = 2
    private let condition = NSCondition()

    init(output: Pipe, errors: Pipe) {
        for (pipe, isError) in [(output, false), (errors, true)] {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread {
                while true {
                    let chunk = handle.availableData
                    self.condition.lock()
                    if chunk.isEmpty {
                        self.open -= 1
                    } else if isError {
                        self.stderr.append(chunk)
                    } else {
                        self.stdout.append(chunk)
                    }
                    self.condition.broadcast()
                    self.condition.unlock()
                    if chunk.isEmpty { return }
                }
            }
        }
    }

    /// Waits until `predicate` holds for the stdout collected so far (true), both pipes closed
    /// without it holding, or `timeout` passed (false).
    func waitForStdout(timeout: TimeInterval, _ predicate: (String) -> Bool) -> Bool {
        wait(timeout: timeout) { predicate(String(decoding: stdout, as: UTF8.self)) }
    }

    /// The same for stderr.
    func waitForStderr(timeout: TimeInterval, _ predicate: (String) -> Bool) -> Bool {
        wait(timeout: timeout) { predicate(String(decoding: stderr, as: UTF8.self)) }
    }

    private func wait(timeout: TimeInterval, _ predicate: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !predicate() {
            guard open > 0, condition.wait(until: deadline) else { return predicate() }
        }
        return true
    }

    /// Everything, once both pipes are closed (the process and its children exited).
    func finish() -> (String, String) {
        condition.lock()
        defer { condition.unlock() }
        while open > 0 { condition.wait() }
        return (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}
