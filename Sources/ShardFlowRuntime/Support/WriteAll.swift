#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `bytes` to a blocking descriptor.
public func writeAll(_ descriptor: CInt, _ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
        let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            throw SystemCallError(call: "write", code: errno)
        }
        offset += written
    }
}
