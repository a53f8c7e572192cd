#if canImport(Glibc)
import Glibc
#endif

/// A failed system call, with its errno.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var code: CInt

    public init(call: String, code: CInt) {
        self.call = call
        self.code = code
    }

    public var description: String { "\(call) failed: \(String(cString: strerror(code))) (errno \(code))" }
}
