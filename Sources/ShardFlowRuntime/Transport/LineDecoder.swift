// Unsafe hot path: finds newlines with memchr over the readable bytes.
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream (a MultiLangDaemon pipe) into lines (without `\n` or a trailing `\r`), rejecting a line longer than
/// the maximum as soon as that many bytes arrived without a newline.
final class LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    private let maximumLength: Int
    private var scanned = 0
    /// Length of the last line.
    private var lastLength = 0

    init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let newline: Int? = buffer.withUnsafeReadableBytes { bytes in
            guard scanned < bytes.count, let found = memchr(bytes.baseAddress! + scanned, 0x0A, bytes.count - scanned) else {
                return nil
            }
            return bytes.baseAddress!.distance(to: UnsafeRawPointer(found))
        }
        guard let newline else {
            scanned = buffer.readableBytes
            if scanned > maximumLength {
                throw ConfigurationError("a line on stdin exceeds \(maximumLength) bytes (--max-line-bytes)")
            }
            // Lines of one daemon are alike (processRecords batches): make room for one like the
            // last now, so the rest of it is appended without growing — and copying — the buffer.
            let expected = min(lastLength + lastLength / 8, maximumLength)
            if expected - buffer.readableBytes > buffer.writableBytes {
                buffer.reserveCapacity(minimumWritableBytes: expected - buffer.readableBytes)
            }
            return .needMoreData
        }
        scanned = 0
        lastLength = newline
        var line = buffer.readSlice(length: newline)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if seenEOF, buffer.readableBytes > 0 {
            let line = buffer.readSlice(length: buffer.readableBytes)!
            scanned = 0
            context.fireChannelRead(wrapInboundOut(line))
        }
        return .needMoreData
    }
}

