import NIOCore

/// Reads the fields of one frame payload, turning every short read into a typed
/// ``WireError/Kind/truncatedPayload(field:needed:available:)`` that names the field.
struct PayloadReader {
    var buffer: ByteBuffer

    init(_ buffer: ByteBuffer) { self.buffer = buffer }

    var remaining: Int { buffer.readableBytes }

    @inline(__always)
    mutating func integer<T: FixedWidthInteger>(_ field: StaticString, as: T.Type = T.self) throws(WireError) -> T {
        guard let value = buffer.readInteger(as: T.self) else {
            throw WireError(.truncatedPayload(field: "\(field)", needed: MemoryLayout<T>.size, available: remaining))
        }
        return value
    }

    @inline(__always)
    mutating func slice(_ field: StaticString, length: Int) throws(WireError) -> ByteBuffer {
        guard let value = buffer.readSlice(length: length) else {
            throw WireError(.truncatedPayload(field: "\(field)", needed: length, available: remaining))
        }
        return value
    }

    /// Skips `length` bytes, validating that they are present.
    @inline(__always)
    mutating func skip(_ field: StaticString, length: Int) throws(WireError) {
        guard remaining >= length else {
            throw WireError(.truncatedPayload(field: "\(field)", needed: length, available: remaining))
        }
        buffer.moveReaderIndex(forwardBy: length)
    }

    /// A UTF-8 string prefixed by a u16 length.
    mutating func string16(_ field: StaticString) throws(WireError) -> String {
        let length = Int(try integer(field, as: UInt16.self))
        let bytes = try slice(field, length: length)
        guard let text = bytes.validatedUTF8String(at: bytes.readerIndex, length: length) else {
            throw WireError(.invalidField(field: "\(field)", reason: "not valid UTF-8"))
        }
        return text
    }

    /// Throws ``WireError/Kind/trailingBytes(count:)`` unless the payload was consumed exactly.
    func expectEnd() throws(WireError) {
        if remaining != 0 { throw WireError(.trailingBytes(count: remaining)) }
    }
}

extension ByteBuffer {
    /// Reads `length` bytes as UTF-8, returning nil when they are not valid UTF-8.
    func validatedUTF8String(at index: Int, length: Int) -> String? {
        guard let bytes = getBytes(at: index, length: length) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Writes `text` as a u16 length followed by its UTF-8 bytes. Text longer than 65,000 bytes
    /// (never produced by ShardFlow itself) is cut, and a cut character is repaired.
    @discardableResult
    mutating func writeString16(_ text: String) -> Int {
        if text.utf8.count <= 65_000 {
            return writeInteger(UInt16(text.utf8.count)) + writeBytes(text.utf8)
        }
        let cut = String(decoding: text.utf8.prefix(65_000), as: UTF8.self)
        return writeString16(cut.utf8.count <= 65_000 ? cut : String(cut.dropLast()))
    }
}
