import NIOCore

/// Appends JSON text to a `ByteBuffer`. Only what the MultiLangDaemon messages need: objects
/// written key by key, strings (escaped), integers, null.
public struct JSONWriter {
    public var buffer: ByteBuffer
    private var needsComma = false

    /// Takes ownership of `buffer` (consumed, so the first write does not copy it).
    public init(buffer: consuming ByteBuffer) {
        self.buffer = buffer
    }

    public mutating func beginObject() {
        separate()
        buffer.writeInteger(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        buffer.writeInteger(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        buffer.writeInteger(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        buffer.writeInteger(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes `"name":` (the name must not need escaping).
    public mutating func key(_ name: StaticString) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(name)
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes `"name":` for any name (escaped as needed).
    public mutating func key(_ name: String) {
        separate()
        JSONWriter.writeEscaped(name.utf8, into: &buffer)
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ value: String) {
        separate()
        JSONWriter.writeEscaped(value.utf8, into: &buffer)
        needsComma = true
    }

    public mutating func string(bytes value: some Collection<UInt8>) {
        separate()
        JSONWriter.writeEscaped(value, into: &buffer)
        needsComma = true
    }

    /// Writes a string whose content `body` appends, already known to need no escaping
    /// (base64, decimal digits).
    public mutating func rawString(_ body: (inout ByteBuffer) -> Void) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        body(&buffer)
        buffer.writeInteger(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func optionalString(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    public mutating func integer(_ value: some BinaryInteger) {
        separate()
        buffer.writeString(String(value))
        needsComma = true
    }

    /// Writes a number given as text (for example a fixed-point decimal).
    public mutating func number(text: String) {
        separate()
        buffer.writeString(text)
        needsComma = true
    }

    /// Writes a JSON value given as its (valid, complete) JSON text.
    public mutating func value(jsonText: some Collection<UInt8>) {
        separate()
        buffer.writeBytes(jsonText)
        needsComma = true
    }

    /// Writes a value as its canonical JSON text (``JSONValue/canonicalText``); nil as `null`.
    public mutating func value(_ value: JSONValue?) {
        if let value { self.value(jsonText: value.canonicalText) } else { null() }
    }

    public mutating func bool(_ flag: Bool) {
        value(jsonText: (flag ? "true" : "false").utf8)
    }

    public mutating func optionalInteger(_ value: (some BinaryInteger)?) {
        if let value { integer(value) } else { null() }
    }

    /// Notes that a value was written directly into `buffer` (the next one needs a comma).
    public mutating func markValueWritten() {
        needsComma = true
    }

    /// Ends a line of JSON lines: writes `\n`; the next value starts a new document.
    public mutating func endLine() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        needsComma = false
    }

    public mutating func null() {
        separate()
        buffer.writeStaticString("null")
        needsComma = true
    }

    private mutating func separate() {
        if needsComma {
            buffer.writeInteger(UInt8(ascii: ","))
            needsComma = false
        }
    }

    static func writeEscaped(_ bytes: some Collection<UInt8>, into buffer: inout ByteBuffer) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { writeEscaped(UnsafeRawBufferPointer($0), into: &buffer) }
        if done == nil {
            Array(bytes).withUnsafeBytes { writeEscaped($0, into: &buffer) }
        }
    }

    static func writeEscaped(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var clean = 0
        while clean < bytes.count {
            let byte = bytes[clean]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
            clean += 1
        }
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[0..<clean]))
        if clean < bytes.count {
            for byte in bytes[clean...] {
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case 0..<0x20:
                    let hex = String(byte, radix: 16)
                    buffer.writeString("\\u00" + (byte < 16 ? "0" + hex : hex))
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
