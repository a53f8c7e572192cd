#if canImport(Glibc)
import Glibc
#endif

/// A sink could not write: which file, which call, which errno, and what became of the file.
/// The batch is retried (a full disk pauses the shard until there is room again).
public struct SinkError: Error, CustomStringConvertible, Sendable {
    /// What the failed call left in the file.
    public enum Aftermath: Sendable, Equatable {
        /// The call touched nothing that needs undoing (opening or reading the file).
        case untouched
        /// The disk refused the append's reservation: not a byte of it was written.
        case nothingWritten
        /// Part of the append was written, then cut back to the last complete line.
        case cutBack
        /// Part of the append was written, and cutting it back failed too (errno).
        case cutBackFailed(CInt)
    }

    public var path: String
    public var call: String
    public var code: CInt
    public var aftermath: Aftermath

    public init(path: String, call: String, code: CInt, aftermath: Aftermath = .untouched) {
        self.path = path
        self.call = call
        self.code = code
        self.aftermath = aftermath
    }

    public var description: String {
        let reason = "\(String(cString: strerror(code))) (errno \(code)\(code == ENOSPC ? ": the disk is full" : ""))"
        let after: String
        switch aftermath {
        case .untouched: after = ""
        case .nothingWritten: after = "; nothing of the batch was written"
        case .cutBack: after = "; it was cut back to its last complete line"
        case .cutBackFailed(let errno): after = " and cutting it back to its last complete line failed too: \(String(cString: strerror(errno))) (errno \(errno))"
        }
        return "cannot \(call) \(path): \(reason)\(after)"
    }
}
