#if canImport(Glibc)
import Glibc
#endif

/// A sink could not write: which file, which call, which errno. The file was cut back to its
/// last complete line, and the batch is retried (a full disk pauses the shard until there is
/// room again).
public struct SinkError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var call: String
    public var code: CInt
    /// Set when cutting the file back failed too (errno).
    public var truncateFailed: CInt?

    public init(path: String, call: String, code: CInt) {
        self.path = path
        self.call = call
        self.code = code
    }

    public var description: String {
        let reason = "\(String(cString: strerror(code))) (errno \(code)\(code == ENOSPC ? ": the disk is full" : ""))"
        let undone = truncateFailed.map { " and cutting it back to its last complete line failed too: \(String(cString: strerror($0))) (errno \($0))" }
            ?? "; it was cut back to its last complete line"
        return "cannot \(call) \(path): \(reason)\(undone)"
    }
}
