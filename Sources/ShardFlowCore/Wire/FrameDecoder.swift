import NIOCore

/// Incremental frame decoder: call ``decode(_:)`` whenever bytes arrive; it returns one frame,
/// or nil (consuming nothing) when the buffer holds only part of one.
///
/// An oversize length is rejected as soon as the 4-byte length field is readable, before any
/// of the payload arrives, so a hostile or corrupt peer cannot make the receiver buffer it.
public struct FrameDecoder: Sendable {
    /// Default maximum of `length`: a 10 MiB Kinesis record plus generous room for headers and
    /// other records of the same batch.
    public static let defaultMaximumFrameLength: UInt32 = 16 * 1024 * 1024

    public var maximumFrameLength: UInt32

    public init(maximumFrameLength: UInt32 = FrameDecoder.defaultMaximumFrameLength) {
        self.maximumFrameLength = maximumFrameLength
    }

    /// Decodes the next frame from `buffer`, moving its reader index past the frame. Returns
    /// nil, leaving `buffer` untouched, on a short read. Throws a ``WireError`` naming the
    /// frame type and the offending bytes when the frame is malformed; the connection that
    /// delivered it should then be closed.
    public func decode(_ buffer: inout ByteBuffer) throws(WireError) -> Frame? {
        let start = buffer.readerIndex
        guard let length = buffer.getInteger(at: start, as: UInt32.self) else { return nil }
        guard length <= maximumFrameLength else {
            throw WireError(
                .oversizeFrame(length: length, maximum: maximumFrameLength),
                snippet: buffer.hexSnippet(at: start, limit: 8)
            )
        }
        guard length > 0 else {
            throw WireError(.emptyFrame, snippet: buffer.hexSnippet(at: start, limit: 8))
        }
        let total = 4 + Int(length)
        guard buffer.readableBytes >= total else { return nil }
        let rawType = buffer.getInteger(at: start + 4, as: UInt8.self)!
        guard let type = FrameType(rawValue: rawType) else {
            throw WireError(.unknownFrameType(rawType), snippet: buffer.hexSnippet(at: start))
        }
        let payload = buffer.getSlice(at: start + 5, length: total - 5)!
        do {
            let frame = try Frame.decode(type: type, payload: payload)
            buffer.moveReaderIndex(forwardBy: total)
            return frame
        } catch {
            var error = error
            error.frameType = type
            error.snippet = buffer.hexSnippet(at: start)
            throw error
        }
    }
}
