import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `exec:CMD`: one long-running child per reducer (`/bin/sh -c CMD`), fed one batch per line
/// on its stdin and answering one line per batch that names the failed items, in the shape of
/// AWS Lambda's partial batch responses:
///
/// ```
/// → {"batchId":7,"items":[{"itemIdentifier":"0","shardId":…,"data":"…"}, …]}
/// ← {"batchItemFailures":[{"itemIdentifier":"0","reason":"…"}]}
/// ```
///
/// The batch is written while the reply is read (a child that echoes its input cannot
/// deadlock the reducer), and each batch must be answered within `timeout`. A child that exits,
/// stops reading, closes its stdout, answers late or answers something unreadable fails the
/// whole batch (the reducer retries it): it is killed with its process group and restarted for
/// the next batch, and the error says what happened, which child, and shows what it sent.
/// See `docs/processors.md`.
public final class ExecProcessor: BatchProcessor {
    public let command: String
    public let timeout: TimeAmount
    private let reducerIndex: Int
    private var child: ChildProcess?
    /// Bytes read from the child's stdout and not yet consumed (the start of its next line).
    private var pending: [UInt8] = []
    private var batchId = 0
    private let starts = NIOLockedValueBox(0)

    /// Children started after the first.
    public var restarts: Int { max(0, starts.withLockedValue { $0 } - 1) }

    /// The default per-batch timeout (`--processor-timeout`).
    public static let defaultTimeout: TimeAmount = ProcessingDefaults.processorTimeout

    public init(command: String, reducerIndex: Int, timeout: TimeAmount = ExecProcessor.defaultTimeout, format: ExecFormat = .native) {
        self.command = command
        self.reducerIndex = reducerIndex
        self.timeout = timeout
        self.format = format
    }

    /// How batches are written and replies read (`--exec-format`).
    public let format: ExecFormat

    public func process(_ items: [ProcessorItem]) throws -> BatchResult {
        let child = try running()
        batchId += 1
        var json = JSONWriter(buffer: ByteBuffer())
        /// Lambda replies name records by sequence number: the items each names.
        var lambdaPositions: [String: [Int]] = [:]
        switch format {
        case .native:
            json.beginObject()
            json.key("batchId")
            json.integer(batchId)
            json.key("items")
            json.beginArray()
            for (position, item) in items.enumerated() {
                ItemJSON.write(item.wire, into: &json) { json in
                    json.key("itemIdentifier")
                    json.string(String(position))
                }
            }
            json.endArray()
            json.endObject()
            json.endLine()
        case .lambda:
            lambdaPositions = LambdaEvent.write(items, into: &json)
        }
        let line: [UInt8]
        do {
            line = try exchange(json.buffer, with: child)
        } catch let failure as ExchangeFailure {
            throw restart(because: failure.description(child: describe(child), batch: batchId, timeout: timeout))
        }
        do {
            switch format {
            case .native:
                return try Self.parseReply(line, itemCount: items.count, batchId: batchId)
            case .lambda:
                return BatchResult(failures: try ExecReply.parse(line, batchId: nil) { identifier in
                    guard let named = lambdaPositions[identifier] else {
                        return .failure("itemIdentifier \"\(identifier)\" is not the sequence number of a record in this batch")
                    }
                    return .success(named)
                })
            }
        } catch {
            throw restart(because: "\(describe(child)) answered batch \(batchId) with \(error)")
        }
    }

    public func close() throws {
        guard let child else { return }
        self.child = nil
        child.closeStdin()
        // A child that does not exit once its input ends is stopped.
        let deadline = NIODeadline.now() + .seconds(5)
        while child.poll() == nil {
            guard NIODeadline.now() < deadline else {
                child.sendToGroup(signal: SIGKILL)
                _ = child.wait()
                break
            }
            usleep(20_000)
        }
        child.closeStdout()
    }

    // MARK: The exchange

    private enum ExchangeFailure: Error {
        case timedOut
        case stoppedReading(errno: CInt)
        case closedStdout(partial: [UInt8])
        case answeredEarly(line: [UInt8])
        case io(call: String, errno: CInt)

        func description(child: String, batch: Int, timeout: TimeAmount) -> String {
            switch self {
            case .timedOut:
                return "\(child) did not answer batch \(batch) within \(timeout.prettyDescription) (--processor-timeout)"
            case .stoppedReading(let code):
                return "\(child) stopped reading its stdin before the whole of batch \(batch) was written (\(String(cString: strerror(code))))"
            case .closedStdout(let partial):
                return "\(child) closed its stdout before answering batch \(batch)"
                    + (partial.isEmpty ? "" : "; it had written: \(ExecProcessor.snippet(partial))")
            case .answeredEarly(let line):
                return "\(child) answered before reading the whole of batch \(batch): \(ExecProcessor.snippet(line))"
                    + " (a line on stdout that is not a reply? logs belong on stderr)"
            case .io(let call, let code):
                return "\(call) on \(child) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// Writes `batch` to the child while reading its stdout; returns its reply line.
    private func exchange(_ batch: ByteBuffer, with child: ChildProcess) throws(ExchangeFailure) -> [UInt8] {
        let deadline = NIODeadline.now() + timeout
        let input = child.stdinDescriptor!
        let output = child.stdoutDescriptor!
        var written = 0
        let total = batch.readableBytes
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                guard written == total else { throw .answeredEarly(line: line) }
                return line
            }
            let remaining = deadline - NIODeadline.now()
            guard remaining > .zero else { throw .timedOut }
            var descriptors = [pollfd(fd: output, events: Int16(POLLIN), revents: 0)]
            if written < total { descriptors.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(clamping: max(1, remaining.nanoseconds / 1_000_000)))
            if ready < 0 {
                if errno == EINTR { continue }
                throw .io(call: "poll", errno: errno)
            }
            if descriptors.count > 1, descriptors[1].revents != 0 {
                let result = batch.withUnsafeReadableBytes { raw in
                    Glibc.write(input, raw.baseAddress! + written, total - written)
                }
                if result < 0 {
                    guard errno == EAGAIN || errno == EINTR else { throw .stoppedReading(errno: errno) }
                } else {
                    written += result
                }
            }
            if descriptors[0].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress, $0.count) }
                if count < 0 {
                    guard errno == EAGAIN || errno == EINTR else { throw .io(call: "read", errno: errno) }
                } else if count == 0 {
                    let partial = pending
                    pending = []
                    throw .closedStdout(partial: partial)
                } else {
                    pending.append(contentsOf: chunk[..<count])
                }
            }
        }
    }

    static func snippet(_ bytes: [UInt8]) -> String { ExecReply.snippet(bytes) }

    /// Parses a reply line (see ``ExecReply``).
    static func parseReply(_ line: [UInt8], itemCount: Int, batchId: Int) throws -> BatchResult {
        BatchResult(failures: try ExecReply.parse(line, itemCount: itemCount, batchId: batchId))
    }

    // MARK: The child

    private func describe(_ child: ChildProcess) -> String {
        "exec child (pid \(child.pid), reducer \(reducerIndex), `\(command)`)"
    }

    private func running() throws -> ChildProcess {
        if let child, child.poll() == nil { return child }
        if let child {
            child.closeStdin()
            child.closeStdout()
            self.child = nil
        }
        let started = try ChildProcess.spawn(
            ["/bin/sh", "-c", command],
            environment: ["SHARDFLOW_REDUCER_INDEX": String(reducerIndex),
                          "SHARDFLOW_PROCESSOR_TIMEOUT_SECONDS": String(timeout.nanoseconds / 1_000_000_000)],
            stdin: .pipe, stdout: .pipe, stderr: .inherit, newProcessGroup: true
        )
        for descriptor in [started.stdinDescriptor!, started.stdoutDescriptor!] {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        }
        child = started
        pending = []
        starts.withLockedValue { $0 += 1 }
        return started
    }

    /// Kills the child and its process group (its protocol state is unknown) and returns the
    /// error for the batch.
    private func restart(because reason: String) -> Error {
        guard let child else { return ConfigurationError(reason) }
        self.child = nil
        child.sendToGroup(signal: SIGKILL)
        child.closeStdin()
        child.closeStdout()
        let (termination, _) = child.wait()
        let how = termination == .signaled(SIGKILL) ? "was killed (SIGKILL)" : "had already ended (\(termination))"
        return ConfigurationError("\(reason); the child \(how) and is restarted for the next batch")
    }
}
