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
/// A child that exits, closes its stdout or answers something unreadable fails the whole batch
/// (the reducer retries it) and is restarted for the next one. See `docs/processors.md`.
public final class ExecProcessor: BatchProcessor {
    public let command: String
    private let reducerIndex: Int
    private var child: ChildProcess?
    private var reader: LineReader?
    private var batchId = 0

    public init(command: String, reducerIndex: Int) {
        self.command = command
        self.reducerIndex = reducerIndex
    }

    public func process(_ items: [ProcessorItem]) throws -> BatchResult {
        let child = try running()
        batchId += 1
        var json = JSONWriter(buffer: ByteBuffer())
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
        do {
            try json.buffer.withUnsafeReadableBytes { try writeAll(child.stdinDescriptor!, $0) }
        } catch {
            throw restart(because: "cannot write batch \(batchId) to exec child (pid \(child.pid)): \(error)")
        }
        let line: [UInt8]?
        do {
            line = try reader!.next()
        } catch {
            throw restart(because: "cannot read the reply to batch \(batchId) from exec child (pid \(child.pid)): \(error)")
        }
        guard let line else {
            throw restart(because: "exec child (pid \(child.pid)) closed its stdout before answering batch \(batchId)")
        }
        do {
            return try Self.parseReply(line, itemCount: items.count, batchId: batchId)
        } catch {
            throw restart(because: "exec child (pid \(child.pid)) answered batch \(batchId) with \(error)")
        }
    }

    public func close() throws {
        guard let child else { return }
        child.closeStdin()
        child.closeStdout()
        _ = child.wait()
        self.child = nil
    }

    /// Parses `{"batchItemFailures":[{"itemIdentifier":"3","reason":"…"}]}`.
    static func parseReply(_ line: [UInt8], itemCount: Int, batchId: Int) throws -> BatchResult {
        try line.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            var failures: [Int: String] = [:]
            var sawFailures = false
            do {
                try scanner.beginObject()
                while let key = try scanner.nextKey() {
                    if scanner.string(key, equals: "batchItemFailures") {
                        sawFailures = true
                        guard !scanner.consumeNull() else { continue }
                        try scanner.beginArray()
                        while try scanner.nextElement() {
                            var identifier: String?
                            var reason = "failed"
                            try scanner.beginObject()
                            while let field = try scanner.nextKey() {
                                if scanner.string(field, equals: "itemIdentifier") {
                                    scanner.skipWhitespace()
                                    if scanner.position < raw.count, raw[scanner.position] == UInt8(ascii: "\"") {
                                        identifier = try scanner.string(try scanner.readString())
                                    } else {
                                        identifier = String(try scanner.readInteger())
                                    }
                                } else if scanner.string(field, equals: "reason") {
                                    reason = try scanner.readOptionalString().map { (ref) throws(JSONError) in try scanner.string(ref) } ?? reason
                                } else {
                                    try scanner.skipValue()
                                }
                            }
                            guard let identifier, let position = Int(identifier), (0..<itemCount).contains(position) else {
                                throw ConfigurationError("an itemIdentifier outside 0..<\(itemCount)")
                            }
                            failures[position] = "exec: \(reason)"
                        }
                    } else if scanner.string(key, equals: "batchId") {
                        let echoed = try scanner.readInteger()
                        guard echoed == batchId else { throw ConfigurationError("batchId \(echoed) for batch \(batchId)") }
                    } else {
                        try scanner.skipValue()
                    }
                }
                try scanner.expectEnd()
            } catch let error as JSONError {
                throw ConfigurationError("invalid JSON (\(error)): \(String(decoding: line.prefix(120), as: UTF8.self))")
            }
            guard sawFailures else { throw ConfigurationError("a reply without \"batchItemFailures\"") }
            return BatchResult(failures: failures)
        }
    }

    private func running() throws -> ChildProcess {
        if let child, child.poll() == nil { return child }
        if let child {
            child.closeStdin()
            child.closeStdout()
        }
        let started = try ChildProcess.spawn(
            ["/bin/sh", "-c", command],
            environment: ["SHARDFLOW_REDUCER_INDEX": String(reducerIndex)],
            stdin: .pipe, stdout: .pipe, stderr: .inherit
        )
        child = started
        reader = LineReader(descriptor: started.stdoutDescriptor!)
        return started
    }

    /// Stops the child (its protocol state is unknown) and returns the error for the batch.
    private func restart(because reason: String) -> Error {
        if let child {
            child.send(signal: SIGTERM)
            child.closeStdin()
            child.closeStdout()
            let (termination, _) = child.wait()
            self.child = nil
            return ConfigurationError("\(reason); the child \(termination) and is restarted for the next batch")
        }
        return ConfigurationError(reason)
    }
}
