// Unsafe hot path: finds newlines with memchr over the buffered bytes.
#if canImport(Glibc)
import Glibc
#endif

/// Reads lines from a blocking file descriptor.
public struct LineReader {
    private let descriptor: CInt
    private var buffer: [UInt8] = []
    /// Where the next line starts in `buffer`.
    private var start = 0
    /// How far past `start` is known to hold no newline (so a long line is scanned once).
    private var scanned = 0
    private var chunk = [UInt8](repeating: 0, count: LineReader.readSize)
    public let maximumLineLength: Int

    /// Bytes asked of each read.
    static let readSize = 1024 * 1024

    public init(descriptor: CInt, maximumLineLength: Int = 64 * 1024 * 1024) {
        self.descriptor = descriptor
        self.maximumLineLength = maximumLineLength
    }

    /// The next line without its `\n` (and a trailing `\r`), or nil at end of input.
    public mutating func next() throws -> [UInt8]? {
        while true {
            if let newline = nextNewline() {
                var line = Array(buffer[start..<newline])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                start = newline + 1
                scanned = start
                if start >= LineReader.readSize {
                    buffer.removeFirst(start)
                    start = 0
                    scanned = 0
                }
                return line
            }
            guard buffer.count - start <= maximumLineLength else {
                throw ConfigurationError("line longer than \(maximumLineLength) bytes")
            }
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "read", code: errno)
            }
            if count == 0 {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                scanned = start
                return line
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    /// The index of the next newline at or after `start`, scanning only bytes not scanned before.
    private mutating func nextNewline() -> Int? {
        let from = max(start, scanned)
        guard from < buffer.count else { return nil }
        let found: Int? = buffer.withUnsafeBytes { raw in
            memchr(raw.baseAddress! + from, 0x0A, raw.count - from).map { raw.baseAddress!.distance(to: UnsafeRawPointer($0)) }
        }
        scanned = found ?? buffer.count
        return found
    }
}
