import CSystemd
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A file that grows only by whole lines, durably: the sink of the `jsonl:` processor and of
/// dead letters.
///
/// Each append first reserves its bytes on disk (`fallocate`, keeping the file's size), so a
/// full disk refuses the append before any of it is written and a reader of the file never sees
/// half a line; then it writes its lines at the end of what is committed and fsyncs; only then
/// does the caller acknowledge them. When a write or an fsync still fails (an I/O error, or a
/// file system that cannot reserve), the file is cut back to its last committed byte before the
/// error is thrown, so the retry appends after a complete line — never after half of one — and
/// nothing unacknowledged stays behind. A partial last line left by a crash is removed when the
/// file is opened.
final class AppendOnlyFile {
    let path: String
    private let descriptor: CInt
    /// Bytes known to be complete lines on disk.
    private(set) var committedSize: Int64
    /// Bytes of a partial last line removed at open (a crash in the middle of a write).
    let repairedBytes: Int64

    /// Opens (creating with `mode`) the file at `path`.
    /// Whether each append reserves its bytes first (false behaves as a file system that cannot
    /// reserve; tests use it to reach the cut-back path).
    private let reserves: Bool

    init(path: String, mode: mode_t = 0o640, reserves: Bool = true) throws {
        self.path = path
        self.reserves = reserves
        descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw SinkError(path: path, call: "open", code: errno) }
        let size = lseek(descriptor, 0, SEEK_END)
        guard size >= 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw SinkError(path: path, call: "lseek", code: code)
        }
        let complete = try Self.endOfLastLine(path: path, size: Int64(size))
        if complete < size {
            guard ftruncate(descriptor, off_t(complete)) == 0, fsync(descriptor) == 0 else {
                let code = errno
                Glibc.close(descriptor)
                throw SinkError(path: path, call: "ftruncate", code: code)
            }
        }
        committedSize = complete
        repairedBytes = Int64(size) - complete
    }

    deinit { Glibc.close(descriptor) }

    /// Appends `bytes` (whole lines) and makes them durable; on failure the file is cut back to
    /// what was committed before and the error names the file and the errno.
    func append(_ bytes: ByteBuffer) throws {
        var offset = 0
        let count = bytes.readableBytes
        guard count > 0 else { return }
        switch reserves ? shardflow_reserve(descriptor, Int(committedSize), count) : EOPNOTSUPP {
        case 0, EOPNOTSUPP, ENOSYS, EINVAL:
            break  // reserved, or this file system cannot: the write below finds out
        case let code:
            throw SinkError(path: path, call: "write", code: code, aftermath: .nothingWritten)
        }
        let failure: SinkError? = bytes.withUnsafeReadableBytes { raw in
            while offset < count {
                let written = pwrite(descriptor, raw.baseAddress! + offset, count - offset, off_t(committedSize) + off_t(offset))
                if written < 0 {
                    if errno == EINTR { continue }
                    return SinkError(path: path, call: "write", code: errno)
                }
                offset += written
            }
            guard fsync(descriptor) == 0 else { return SinkError(path: path, call: "fsync", code: errno) }
            return nil
        }
        if var failure {
            // Undo the partial write: the retry must start after a complete line.
            failure.aftermath = ftruncate(descriptor, off_t(committedSize)) == 0 ? .cutBack : .cutBackFailed(errno)
            throw failure
        }
        committedSize += Int64(count)
    }

    /// The size of the file up to and including its last newline.
    private static func endOfLastLine(path: String, size: Int64) throws -> Int64 {
        guard size > 0 else { return 0 }
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else { throw SinkError(path: path, call: "open", code: errno) }
        defer { Glibc.close(reader) }
        var end = size
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while end > 0 {
            let start = max(0, end - Int64(chunk.count))
            let length = Int(end - start)
            let read = chunk.withUnsafeMutableBytes { pread(reader, $0.baseAddress, length, off_t(start)) }
            guard read == length else { throw SinkError(path: path, call: "read", code: read < 0 ? errno : EIO) }
            if let newline = chunk[..<length].lastIndex(of: UInt8(ascii: "\n")) {
                return start + Int64(newline) + 1
            }
            end = start
        }
        return 0
    }
}
