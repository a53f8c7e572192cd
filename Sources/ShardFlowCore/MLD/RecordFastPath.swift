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
        let count = bytes.count
        var index = start
        var fields = Fields(end: start)

        @inline(__always) func byte(_ at: Int) -> UInt8 { base.load(fromByteOffset: at, as: UInt8.self) }
        @inline(__always) func skipWhitespace() {
            while index < count {
                let c = byte(index)
                guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
                index += 1
            }
        }
        @inline(__always) func consume(_ expected: UInt8) -> Bool {
            skipWhitespace()
            guard index < count, byte(index) == expected else { return false }
            index += 1
            return true
        }
        /// A string without escapes; nil (fall back) otherwise.
        func plainString() -> JSONStringRef? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let from = index
            guard let quote = memchr(base + from, Int32(UInt8(ascii: "\"")), count - from) else { return nil }
            let to = base.distance(to: UnsafeRawPointer(quote))
            if to > from, memchr(base + from, Int32(UInt8(ascii: "\\")), to - from) != nil { return nil }
            index = to + 1
            return JSONStringRef(range: from..<to, hasEscapes: false)
        }
        /// `null` → .some(nil); a string → .some(ref); anything else → nil.
        func optionalString() -> JSONStringRef?? {
            skipWhitespace()
            if index + 4 <= count, memcmp(base + index, "null", 4) == 0 {
                index += 4
                return .some(nil)
            }
            guard let value = plainString() else { return nil }
            return .some(value)
        }
        /// `null` → .some(nil); a plain integer → .some(value); anything else → nil.
        func optionalInteger() -> Int64?? {
            skipWhitespace()
            if index + 4 <= count, memcmp(base + index, "null", 4) == 0 {
                index += 4
                return .some(nil)
            }
            var negative = false
            if index < count, byte(index) == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            let from = index
            var value: Int64 = 0
            while index < count, byte(index) &- UInt8(ascii: "0") < 10, index - from < 18 {
                value = value * 10 + Int64(byte(index) &- UInt8(ascii: "0"))
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

        /// Matches `name` followed by its closing quote at `index` (just after the opening quote).
        @inline(__always) func literal(_ name: StaticString) -> Bool {
            let length = name.utf8CodeUnitCount
            guard index + length < count, memcmp(base + index, name.utf8Start, length) == 0,
                  byte(index + length) == UInt8(ascii: "\"") else { return false }
            index += length + 1
            return true
        }
        /// A short string scanned byte by byte (no call), or nil on an escape.
        func shortString() -> JSONStringRef?? {
            skipWhitespace()
            if index + 4 <= count, memcmp(base + index, "null", 4) == 0 {
                index += 4
                return .some(nil)
            }
            guard index < count, byte(index) == UInt8(ascii: "\"") else { return nil }
            let from = index + 1
            var at = from
            while at < count {
                let c = byte(at)
                if c == UInt8(ascii: "\"") {
                    index = at + 1
                    return .some(JSONStringRef(range: from..<at, hasEscapes: false))
                }
                if c == UInt8(ascii: "\\") { return nil }
                at += 1
            }
            return nil
        }

        guard consume(UInt8(ascii: "{")) else { return nil }
        skipWhitespace()
        if index < count, byte(index) == UInt8(ascii: "}") {
            fields.end = index + 1
            return fields
        }
        while true {
            guard consume(UInt8(ascii: "\"")), index < count else { return nil }
            // Keys are recognized by their literal text (and closing quote) in place.
            switch byte(index) {
            case UInt8(ascii: "d") where literal("data"):
                guard consume(UInt8(ascii: ":")), let value = optionalString() else { return nil }
                fields.data = value
            case UInt8(ascii: "p") where literal("partitionKey"):
                guard consume(UInt8(ascii: ":")), let value = shortString() else { return nil }
                fields.partitionKey = value
            case UInt8(ascii: "s") where literal("sequenceNumber"):
                guard consume(UInt8(ascii: ":")), let value = shortString() else { return nil }
                fields.sequenceNumber = value
            case UInt8(ascii: "s") where literal("subSequenceNumber"):
                guard consume(UInt8(ascii: ":")), let value = optionalInteger() else { return nil }
                fields.subSequenceNumber = value
            case UInt8(ascii: "a") where literal("approximateArrivalTimestamp"):
                guard consume(UInt8(ascii: ":")), let value = optionalInteger() else { return nil }
                fields.timestamp = value
            case UInt8(ascii: "a") where literal("action"):
                guard consume(UInt8(ascii: ":")), case .some(.some) = shortString() else { return nil }
            default:
                return nil  // another key: the general parser knows how to skip any value
            }
            skipWhitespace()
            guard index < count else { return nil }
            if byte(index) == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
                continue
            }
            guard byte(index) == UInt8(ascii: "}") else { return nil }
            fields.end = index + 1
            return fields
        }
    }
}
