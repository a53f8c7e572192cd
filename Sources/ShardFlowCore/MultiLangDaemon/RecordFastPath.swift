// Unsafe hot path: scans a record object word by word through raw loads; every load is bounds-checked against the line.
import CShardFlowKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fast reader for the record objects of a `processRecords` line in their usual shape:
/// compact, keys without escapes, string values without escapes. It returns nil — consuming
/// nothing — for anything else (an escape, an unknown key, a malformed token), and the general
/// parser takes that record, so both accept exactly the same input and agree on every field.
enum RecordFastPath {
    struct Fields {
        var end: Int
        var data: JSONStringRef?
        var partitionKey: JSONStringRef?
        var sequenceNumber: JSONStringRef?
        var subSequenceNumber: Int64?
        var timestamp: Int64?
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, at start: Int) -> Fields? {
        guard let base = bytes.baseAddress else { return nil }
        var cursor = Cursor(base: base, count: bytes.count, index: start)
        var fields = Fields(end: start)

        guard cursor.consume(UInt8(ascii: "{")) else { return nil }
        cursor.skipWhitespace()
        if cursor.peek == UInt8(ascii: "}") {
            fields.end = cursor.index + 1
            return fields
        }
        while true {
            guard cursor.consume(UInt8(ascii: "\"")), let first = cursor.peek else { return nil }
            // Keys are recognized by their literal text (and closing quote) in place.
            switch first {
            case UInt8(ascii: "d") where cursor.literal("data"):
                guard cursor.consume(UInt8(ascii: ":")), let value = cursor.optionalString() else { return nil }
                fields.data = value
            case UInt8(ascii: "p") where cursor.literal("partitionKey"):
                guard cursor.consume(UInt8(ascii: ":")), let value = cursor.optionalString() else { return nil }
                fields.partitionKey = value
            case UInt8(ascii: "s") where cursor.literal("sequenceNumber"):
                guard cursor.consume(UInt8(ascii: ":")), let value = cursor.optionalString() else { return nil }
                fields.sequenceNumber = value
            case UInt8(ascii: "s") where cursor.literal("subSequenceNumber"):
                guard cursor.consume(UInt8(ascii: ":")), let value = cursor.optionalInteger() else { return nil }
                fields.subSequenceNumber = value
            case UInt8(ascii: "a") where cursor.literal("approximateArrivalTimestamp"):
                guard cursor.consume(UInt8(ascii: ":")), let value = cursor.optionalInteger() else { return nil }
                fields.timestamp = value
            case UInt8(ascii: "a") where cursor.literal("action"):
                guard cursor.consume(UInt8(ascii: ":")), case .some(.some) = cursor.optionalString() else { return nil }
            default:
                return nil  // another key: the general parser knows how to skip any value
            }
            cursor.skipWhitespace()
            switch cursor.peek {
            case UInt8(ascii: ","):
                cursor.index += 1
            case UInt8(ascii: "}"):
                fields.end = cursor.index + 1
                return fields
            default:
                return nil
            }
        }
    }

    /// A position in the line; a value type so the optimizer keeps it in registers.
    private struct Cursor {
        let base: UnsafeRawPointer
        let count: Int
        var index: Int

        @inline(__always) func byte(_ at: Int) -> UInt8 { base.load(fromByteOffset: at, as: UInt8.self) }

        /// The byte at the cursor, nil at the end.
        @inline(__always) var peek: UInt8? { index < count ? byte(index) : nil }

        @inline(__always) mutating func skipWhitespace() {
            while index < count {
                let c = byte(index)
                // The compact form has none: one comparison in the usual case.
                guard c <= 0x20, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
                index += 1
            }
        }

        @inline(__always) mutating func consume(_ expected: UInt8) -> Bool {
            skipWhitespace()
            guard index < count, byte(index) == expected else { return false }
            index += 1
            return true
        }

        /// Matches `name` followed by its closing quote at the cursor (just after the opening
        /// quote), comparing eight bytes at a time: the last word overlaps the one before it, so
        /// any length from 4 up needs no byte loop.
        @inline(__always) mutating func literal(_ name: StaticString) -> Bool {
            let length = name.utf8CodeUnitCount
            assert(length >= 4, "key literals are at least four bytes")
            guard index + length < count, byte(index + length) == UInt8(ascii: "\"") else { return false }
            let text = UnsafeRawPointer(name.utf8Start)
            let here = base + index
            if length < 8 {
                // 4…7 bytes: two overlapping 4-byte words.
                guard here.loadUnaligned(as: UInt32.self) == text.loadUnaligned(as: UInt32.self),
                      here.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self)
                        == text.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self) else { return false }
            } else {
                var offset = 0
                while offset + 8 < length {
                    guard here.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                            == text.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else { return false }
                    offset += 8
                }
                guard here.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
                        == text.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self) else { return false }
            }
            index += length + 1
            return true
        }

        /// Whether `null` is at the cursor (consumed if so).
        @inline(__always) mutating func null() -> Bool {
            guard index + 4 <= count,
                  base.loadUnaligned(fromByteOffset: index, as: UInt32.self) == Self.nullWord else { return false }
            index += 4
            return true
        }

        @inline(__always) private static var nullWord: UInt32 { UInt32(littleEndian: 0x6C6C_756E) }  // "null"

        /// `null` → .some(nil); a string without escapes → .some(ref); anything else → nil.
        mutating func optionalString() -> JSONStringRef?? {
            skipWhitespace()
            if null() { return .some(nil) }
            guard index < count, byte(index) == UInt8(ascii: "\"") else { return nil }
            let from = index + 1
            guard let end = quoteOrBackslash(from: from), byte(end) == UInt8(ascii: "\"") else { return nil }
            index = end + 1
            return .some(JSONStringRef(range: from..<end, hasEscapes: false))
        }

        /// The offset of the first quote or backslash at or after `from` (32 or 16 bytes per
        /// step, in `CShardFlowKernels`).
        @inline(__always) func quoteOrBackslash(from: Int) -> Int? {
            guard from < count else { return nil }
            let found = shardflow_find_quote_or_backslash(base.assumingMemoryBound(to: UInt8.self) + from, count - from)
            return found < count - from ? from + found : nil
        }

        /// `null` → .some(nil); a plain integer → .some(value); anything else → nil.
        mutating func optionalInteger() -> Int64?? {
            skipWhitespace()
            if null() { return .some(nil) }
            var negative = false
            if index < count, byte(index) == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            let from = index
            var value: Int64 = 0
            while index < count, index - from < 18 {
                let digit = byte(index) &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                value = value &* 10 &+ Int64(digit)
                index += 1
            }
            guard index > from else { return nil }
            if index < count {
                let next = byte(index)
                // Longer numbers, fractions and exponents go to the general parser.
                if next &- UInt8(ascii: "0") < 10 || next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
                    return nil
                }
            }
            return .some(negative ? -value : value)
        }
    }
}
