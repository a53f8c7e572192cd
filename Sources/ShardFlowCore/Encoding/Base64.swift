// Unsafe hot path: decodes and encodes through raw pointers, 32 characters a step with the
// vector kernels and eight otherwise; output sizes are computed before writing.
import CShardFlowKernels
import NIOCore

/// Standard base64 (RFC 4648 §4, with padding), as the MultiLangDaemon writes record data.
///
/// Table-driven and allocation-free: decoding writes straight into a `ByteBuffer`. The bulk of
/// long texts goes through the AVX2 kernels where the processor has them (see
/// `CShardFlowKernels`); the tail, padding and every error are handled here.
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

    /// Four 256-entry tables, one per position in a quad: the character's six bits already
    /// shifted into place, or `1 << 24` when it is not in the alphabet, so a quad decodes with
    /// four lookups and three ORs, and one comparison catches any bad character.
    static let quadTables: [UInt32] = {
        var tables = [UInt32](repeating: 1 << 24, count: 1024)
        for (value, char) in alphabet.enumerated() {
            for position in 0..<4 {
                tables[position * 256 + Int(char)] = UInt32(value) << (18 - 6 * position)
            }
        }
        return tables
    }()

    /// Decoded size of `encodedCount` characters (an upper bound before padding is seen).
    public static func maximumDecodedCount(_ encodedCount: Int) -> Int { encodedCount / 4 * 3 }

    /// Decodes `text` and appends the bytes to `buffer`. On error `buffer` is left as it was.
    public static func decode(_ text: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) throws(DecodingError) {
        var failure: DecodingError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximumDecodedCount(text.count) + 3) { output in
            do throws(DecodingError) {
                return try decode(text, to: output.baseAddress!)
            } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
    }

    /// Decodes `text` to `output` (room for ``maximumDecodedCount(_:)`` bytes) and returns the
    /// decoded length.
    public static func decode(_ text: UnsafeRawBufferPointer, to output: UnsafeMutableRawPointer) throws(DecodingError) -> Int {
        let count = text.count
        guard count % 4 == 0 else {
            throw DecodingError(message: "base64 length \(count) is not a multiple of 4", offset: count)
        }
        if count == 0 { return 0 }
        var padding = 0
        if text[count - 1] == UInt8(ascii: "=") { padding += 1 }
        if text[count - 2] == UInt8(ascii: "=") { padding += 1 }
        let result: Int? = quadTables.withUnsafeBufferPointer { tables in
            guard let source = text.baseAddress, let table = tables.baseAddress else { return 0 }
            // The vector kernel decodes whole 32-character blocks and stops short of the last
            // 16 characters (and of any block with a character outside the alphabet).
            var input = shardflow_base64_decode_blocks(source.assumingMemoryBound(to: UInt8.self), count,
                                                       output.assumingMemoryBound(to: UInt8.self))
            var out = input / 4 * 3
            let fullQuads = (count - input - (padding > 0 ? 4 : 0)) / 4
            /// Four characters → their 24 bits; bit 24 or above set when one is not base64.
            @inline(__always) func quad(_ chars: UInt32) -> UInt32 {
                table[Int(chars & 0xFF)] | table[256 + Int(chars >> 8 & 0xFF)]
                    | table[512 + Int(chars >> 16 & 0xFF)] | table[768 + Int(chars >> 24)]
            }
            // Eight characters per step while two more quads follow: the 8-byte store's last two
            // bytes are overwritten by the next step, so nothing lands past the decoded length.
            var quadsLeft = fullQuads
            while quadsLeft >= 4 {
                let chars = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: input, as: UInt64.self))
                let first = quad(UInt32(truncatingIfNeeded: chars)), second = quad(UInt32(truncatingIfNeeded: chars >> 32))
                if (first | second) > 0xFF_FFFF { return nil }
                let bytes = UInt64(first) << 40 | UInt64(second) << 16
                output.storeBytes(of: bytes.bigEndian, toByteOffset: out, as: UInt64.self)
                input += 8
                out += 6
                quadsLeft -= 2
            }
            // Then four bytes per quad but the last, whose fourth byte the next quad overwrites.
            while quadsLeft > 1 {
                let word = quad(UInt32(littleEndian: source.loadUnaligned(fromByteOffset: input, as: UInt32.self)))
                if word > 0xFF_FFFF { return nil }
                output.storeBytes(of: (word << 8).bigEndian, toByteOffset: out, as: UInt32.self)
                input += 4
                out += 3
                quadsLeft -= 1
            }
            if quadsLeft == 1 {
                let word = quad(UInt32(littleEndian: source.loadUnaligned(fromByteOffset: input, as: UInt32.self)))
                if word > 0xFF_FFFF { return nil }
                output.storeBytes(of: UInt8(truncatingIfNeeded: word >> 16), toByteOffset: out, as: UInt8.self)
                output.storeBytes(of: UInt8(truncatingIfNeeded: word >> 8), toByteOffset: out + 1, as: UInt8.self)
                output.storeBytes(of: UInt8(truncatingIfNeeded: word), toByteOffset: out + 2, as: UInt8.self)
                input += 4
                out += 3
            }
            if padding > 0 {
                // "xx==" or "xxx=": the padding characters count as zero bits.
                let c = padding == 2 ? 0 : table[512 + Int(text[input + 2])]
                let word = table[Int(text[input])] | table[256 + Int(text[input + 1])] | c
                if word > 0xFF_FFFF { return nil }
                output.storeBytes(of: UInt8(truncatingIfNeeded: word >> 16), toByteOffset: out, as: UInt8.self)
                out += 1
                if padding == 1 {
                    output.storeBytes(of: UInt8(truncatingIfNeeded: word >> 8), toByteOffset: out, as: UInt8.self)
                    out += 1
                }
            }
            return out
        }
        guard let result else {
            for start in stride(from: 0, to: count, by: 4) {
                let quadEnd = min(start + 4, count)
                let quadPadding = quadEnd == count ? padding : 0
                for offset in start..<(quadEnd - quadPadding) where decodeTable[Int(text[offset])] == 0xFF {
                    throw invalidCharacter(in: text, from: offset)
                }
            }
            throw DecodingError(message: "invalid base64", offset: 0)
        }
        return result
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

    /// Base64 length of `count` bytes.
    @inlinable
    public static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Appends the base64 text of `bytes` to `buffer`.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: encodedCount(bytes.count)) { output in
            encode(bytes, to: output.baseAddress!)
        }
    }

    /// Writes the base64 text of `bytes` at `output` (which must have room for
    /// ``encodedCount(_:)`` bytes) and returns its length.
    @discardableResult
    public static func encode(_ bytes: UnsafeRawBufferPointer, to output: UnsafeMutableRawPointer) -> Int {
        let count = bytes.count
        guard count > 0, let source = bytes.baseAddress else { return 0 }
        return alphabet.withUnsafeBufferPointer { table in
            // Whole 24-byte blocks from the vector kernel, the rest three bytes at a time.
            var input = shardflow_base64_encode_blocks(source.assumingMemoryBound(to: UInt8.self), count,
                                                       output.assumingMemoryBound(to: UInt8.self))
            var out = input / 3 * 4
            while input + 3 <= count {
                let word = UInt32(bytes[input]) << 16 | UInt32(bytes[input + 1]) << 8 | UInt32(bytes[input + 2])
                output.storeBytes(of: table[Int(word >> 18 & 0x3F)], toByteOffset: out, as: UInt8.self)
                output.storeBytes(of: table[Int(word >> 12 & 0x3F)], toByteOffset: out + 1, as: UInt8.self)
                output.storeBytes(of: table[Int(word >> 6 & 0x3F)], toByteOffset: out + 2, as: UInt8.self)
                output.storeBytes(of: table[Int(word & 0x3F)], toByteOffset: out + 3, as: UInt8.self)
                input += 3
                out += 4
            }
            let rest = count - input
            if rest > 0 {
                var word = UInt32(bytes[input]) << 16
                if rest == 2 { word |= UInt32(bytes[input + 1]) << 8 }
                output.storeBytes(of: table[Int(word >> 18 & 0x3F)], toByteOffset: out, as: UInt8.self)
                output.storeBytes(of: table[Int(word >> 12 & 0x3F)], toByteOffset: out + 1, as: UInt8.self)
                output.storeBytes(of: rest == 2 ? table[Int(word >> 6 & 0x3F)] : UInt8(ascii: "="), toByteOffset: out + 2, as: UInt8.self)
                output.storeBytes(of: UInt8(ascii: "="), toByteOffset: out + 3, as: UInt8.self)
                out += 4
            }
            return out
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
