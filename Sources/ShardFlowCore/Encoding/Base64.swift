import NIOCore

/// Standard base64 (RFC 4648 §4, with padding), as the MultiLangDaemon writes record data.
///
/// Table-driven and allocation-free: decoding writes straight into a `ByteBuffer`.
public enum Base64 {
    /// A character that is not base64, or a length that is not a multiple of four.
    public struct DecodingError: Error, Hashable, Sendable, CustomStringConvertible {
        public var message: String
        /// Offset of the offending character in the encoded text.
        public var offset: Int
        public var description: String { "\(message) at offset \(offset)" }
    }

    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0xFF = not in the alphabet.
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, char) in alphabet.enumerated() { table[Int(char)] = UInt8(value) }
        return table
    }()

    /// Decoded size of `encodedCount` characters (an upper bound before padding is seen).
    public static func maximumDecodedCount(_ encodedCount: Int) -> Int { encodedCount / 4 * 3 }

    /// Decodes `text` and appends the bytes to `buffer`. On error `buffer` is left as it was.
    public static func decode(_ text: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) throws(DecodingError) {
        let count = text.count
        guard count % 4 == 0 else {
            throw DecodingError(message: "base64 length \(count) is not a multiple of 4", offset: count)
        }
        if count == 0 { return }
        var padding = 0
        if text[count - 1] == UInt8(ascii: "=") { padding += 1 }
        if text[count - 2] == UInt8(ascii: "=") { padding += 1 }
        let outputCount = count / 4 * 3 - padding
        var failure: DecodingError?
        decodeTable.withUnsafeBufferPointer { table in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: outputCount + 3) { output in
                var input = 0
                var out = 0
                let fullQuads = (count - (padding > 0 ? 4 : 0)) / 4
                for _ in 0..<fullQuads {
                    let a = table[Int(text[input])], b = table[Int(text[input + 1])]
                    let c = table[Int(text[input + 2])], d = table[Int(text[input + 3])]
                    if (a | b | c | d) & 0xC0 != 0 {
                        failure = invalidCharacter(in: text, from: input)
                        return 0
                    }
                    let word = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    output[out] = UInt8(truncatingIfNeeded: word >> 16)
                    output[out + 1] = UInt8(truncatingIfNeeded: word >> 8)
                    output[out + 2] = UInt8(truncatingIfNeeded: word)
                    input += 4
                    out += 3
                }
                if padding > 0 {
                    let a = table[Int(text[input])], b = table[Int(text[input + 1])]
                    let c = padding == 2 ? 0 : table[Int(text[input + 2])]
                    if (a | b | c) & 0xC0 != 0 {
                        failure = invalidCharacter(in: text, from: input)
                        return 0
                    }
                    let word = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                    output[out] = UInt8(truncatingIfNeeded: word >> 16)
                    out += 1
                    if padding == 1 {
                        output[out] = UInt8(truncatingIfNeeded: word >> 8)
                        out += 1
                    }
                }
                return out
            }
        }
        if let failure { throw failure }
    }

    /// Decodes base64 text into a new array.
    public static func decode(_ text: some Collection<UInt8>) throws(DecodingError) -> [UInt8] {
        var buffer = ByteBuffer()
        let bytes = Array(text)
        try bytes.withUnsafeBytesTyped { (raw: UnsafeRawBufferPointer) throws(DecodingError) in
            try decode(raw, into: &buffer)
        }
        return Array(buffer.readableBytesView)
    }

    /// Appends the base64 text of `bytes` to `buffer`.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        let count = bytes.count
        let outputCount = (count + 2) / 3 * 4
        alphabet.withUnsafeBufferPointer { table in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: outputCount) { output in
                var input = 0
                var out = 0
                while input + 3 <= count {
                    let word = UInt32(bytes[input]) << 16 | UInt32(bytes[input + 1]) << 8 | UInt32(bytes[input + 2])
                    output[out] = table[Int(word >> 18 & 0x3F)]
                    output[out + 1] = table[Int(word >> 12 & 0x3F)]
                    output[out + 2] = table[Int(word >> 6 & 0x3F)]
                    output[out + 3] = table[Int(word & 0x3F)]
                    input += 3
                    out += 4
                }
                let rest = count - input
                if rest > 0 {
                    var word = UInt32(bytes[input]) << 16
                    if rest == 2 { word |= UInt32(bytes[input + 1]) << 8 }
                    output[out] = table[Int(word >> 18 & 0x3F)]
                    output[out + 1] = table[Int(word >> 12 & 0x3F)]
                    output[out + 2] = rest == 2 ? table[Int(word >> 6 & 0x3F)] : UInt8(ascii: "=")
                    output[out + 3] = UInt8(ascii: "=")
                    out += 4
                }
                return out
            }
        }
    }

    /// The base64 text of `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var buffer = ByteBuffer()
        let array = Array(bytes)
        array.withUnsafeBytes { encode($0, into: &buffer) }
        return String(buffer: buffer)
    }

    private static func invalidCharacter(in text: UnsafeRawBufferPointer, from start: Int) -> DecodingError {
        for offset in start..<min(start + 4, text.count) where decodeTable[Int(text[offset])] == 0xFF {
            let byte = text[offset]
            let shown = (0x21...0x7E).contains(byte) ? "'\(Unicode.Scalar(byte))'" : "byte 0x\(String(byte, radix: 16))"
            return DecodingError(message: "invalid base64 character \(shown)", offset: offset)
        }
        return DecodingError(message: "invalid base64", offset: start)
    }
}
