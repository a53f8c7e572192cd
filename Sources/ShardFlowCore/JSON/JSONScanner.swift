// Unsafe hot path: reads bytes through an UnsafeRawBufferPointer that the caller keeps alive for the scanner's lifetime.
/// A forward-only JSON reader over bytes that are valid for the scanner's lifetime.
///
/// It allocates nothing while reading: strings come back as ``JSONStringRef`` ranges and are
/// unescaped only when asked. Built for the MultiLangDaemon's one-object-per-line messages,
/// where a `processRecords` line may hold megabytes of base64.
public struct JSONScanner {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var position: Int

    /// Nesting allowed when skipping unknown values, so hostile input cannot exhaust the stack.
    static let maximumDepth = 64

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.position = 0
    }

    /// Moves to `position` (a fast path that parsed ahead hands the rest back).
    mutating func reposition(_ position: Int) {
        self.position = position
        pendingFirst = false
    }

    // MARK: Structure

    public mutating func beginObject() throws(JSONError) {
        try expect(UInt8(ascii: "{"), "expected '{'")
        pendingFirst = true
    }

    /// Reads the next key of the current object and the ':' after it; nil at the closing '}'.
    public mutating func nextKey() throws(JSONError) -> JSONStringRef? {
        skipWhitespace()
        guard position < bytes.count else { throw JSONError("unterminated object", at: position) }
        if bytes[position] == UInt8(ascii: "}") {
            position += 1
            pendingFirst = false
            return nil
        }
        if !pendingFirst {
            try expect(UInt8(ascii: ","), "expected ',' or '}' in object")
            skipWhitespace()
        }
        pendingFirst = false
        let key = try readString()
        try expect(UInt8(ascii: ":"), "expected ':' after key")
        return key
    }

    public mutating func beginArray() throws(JSONError) {
        try expect(UInt8(ascii: "["), "expected '['")
        pendingFirst = true
    }

    /// Moves to the next element of the current array; false at the closing ']'.
    public mutating func nextElement() throws(JSONError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw JSONError("unterminated array", at: position) }
        if bytes[position] == UInt8(ascii: "]") {
            position += 1
            pendingFirst = false
            return false
        }
        if !pendingFirst {
            try expect(UInt8(ascii: ","), "expected ',' or ']' in array")
        }
        pendingFirst = false
        return true
    }

    /// Whether the next object key or array element is the first one. Nested containers are
    /// always entered right after `nextKey`/`nextElement`, so one flag suffices: entering sets
    /// it, and reading the first member clears it before anything nested can be entered.
    private var pendingFirst = false

    /// Throws unless only whitespace is left.
    public mutating func expectEnd() throws(JSONError) {
        skipWhitespace()
        if position != bytes.count { throw JSONError("unexpected bytes after the JSON value", at: position) }
    }

    // MARK: Values

    /// Consumes `null` when it comes next.
    @inline(__always)
    public mutating func consumeNull() -> Bool {
        skipWhitespace()
        guard position + 4 <= bytes.count,
              bytes[position] == UInt8(ascii: "n"), bytes[position + 1] == UInt8(ascii: "u"),
              bytes[position + 2] == UInt8(ascii: "l"), bytes[position + 3] == UInt8(ascii: "l")
        else { return false }
        position += 4
        return true
    }

    public mutating func readString() throws(JSONError) -> JSONStringRef {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
            throw JSONError("expected a string", at: position)
        }
        position += 1
        let start = position
        let base = bytes.baseAddress!
        let count = bytes.count
        // Fast path: most strings (keys, digits, base64) have no escapes. Scan a short stretch
        // byte by byte (cheaper than a call for short strings), then let memchr take over.
        var index = position
        let shortEnd = Swift.min(count, index + 24)
        while index < shortEnd {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                return JSONStringRef(range: start..<index, hasEscapes: false)
            }
            if byte == UInt8(ascii: "\\") { break }
            index += 1
        }
        var escaped = false
        position = index
        while position < count {
            // Jump to the next quote; look for escapes in the stretch before it.
            guard let quote = memchr(base + position, Int32(UInt8(ascii: "\"")), count - position) else { break }
            let end = base.distance(to: UnsafeRawPointer(quote))
            var scan = position
            while scan < end, let backslash = memchr(base + scan, Int32(UInt8(ascii: "\\")), end - scan) {
                escaped = true
                scan = base.distance(to: UnsafeRawPointer(backslash)) + 2
            }
            if scan <= end {
                position = end + 1
                return JSONStringRef(range: start..<end, hasEscapes: escaped)
            }
            // An escape consumed the quote (`\"`): keep searching after it.
            position = scan
        }
        throw JSONError("unterminated string", at: start - 1)
    }

    /// Reads a string, or nil for `null`.
    public mutating func readOptionalString() throws(JSONError) -> JSONStringRef? {
        if consumeNull() { return nil }
        return try readString()
    }

    /// Reads an integer that fits in 64 bits (no fraction, no exponent).
    public mutating func readInteger() throws(JSONError) -> Int64 {
        skipWhitespace()
        let start = position
        var negative = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var magnitude: UInt64 = 0
        var digits = 0
        while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[position] &- UInt8(ascii: "0")))
            if overflow1 || overflow2 { throw JSONError("integer out of range", at: start) }
            magnitude = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw JSONError("expected an integer", at: start) }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            throw JSONError("expected an integer, found a fraction or exponent", at: start)
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw JSONError("integer out of range", at: start) }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw JSONError("integer out of range", at: start) }
        return Int64(magnitude)
    }

    /// Reads an integer, or nil for `null`.
    public mutating func readOptionalInteger() throws(JSONError) -> Int64? {
        if consumeNull() { return nil }
        return try readInteger()
    }

    /// Skips any value: object, array, string, number, true, false or null.
    public mutating func skipValue() throws(JSONError) {
        try skipValue(depth: 0)
    }

    private mutating func skipValue(depth: Int) throws(JSONError) {
        guard depth < JSONScanner.maximumDepth else { throw JSONError("nesting deeper than \(JSONScanner.maximumDepth)", at: position) }
        skipWhitespace()
        guard position < bytes.count else { throw JSONError("expected a value", at: position) }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            try beginObject()
            while try nextKey() != nil { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            try beginArray()
            while try nextElement() { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            _ = try readString()
        case UInt8(ascii: "t"):
            try expectWord("true")
        case UInt8(ascii: "f"):
            try expectWord("false")
        case UInt8(ascii: "n"):
            try expectWord("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = position
            position += 1
            while position < bytes.count {
                let byte = bytes[position]
                let isNumberByte = byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                    || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
                guard isNumberByte else { break }
                position += 1
            }
            if bytes[position - 1] == UInt8(ascii: "-") { throw JSONError("malformed number", at: start) }
        default:
            throw JSONError("unexpected character '\(Unicode.Scalar(bytes[position]))'", at: position)
        }
        pendingFirst = false
    }

    // MARK: Strings

    /// Whether the string's raw bytes equal `ascii` (escaped strings are unescaped first).
    public func string(_ ref: JSONStringRef, equals ascii: StaticString) -> Bool {
        if ref.hasEscapes { return (try? unescaped(ref)) == Array(UnsafeBufferPointer(start: ascii.utf8Start, count: ascii.utf8CodeUnitCount)) }
        guard ref.range.count == ascii.utf8CodeUnitCount else { return false }
        return memcmp(bytes.baseAddress! + ref.range.lowerBound, ascii.utf8Start, ref.range.count) == 0
    }

    /// The raw (still escaped) bytes of a string.
    public func raw(_ ref: JSONStringRef) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[ref.range])
    }

    /// The string's bytes with escapes resolved (UTF-8).
    public func unescaped(_ ref: JSONStringRef) throws(JSONError) -> [UInt8] {
        guard ref.hasEscapes else { return Array(raw(ref)) }
        var out: [UInt8] = []
        out.reserveCapacity(ref.range.count)
        var index = ref.range.lowerBound
        let end = ref.range.upperBound
        while index < end {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < end else { throw JSONError("dangling escape", at: index) }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(at: index)
                index += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 6 <= end, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw JSONError("unpaired surrogate", at: index - 6)
                    }
                    let low = try hex4(at: index + 2)
                    guard (0xDC00...0xDFFF).contains(low) else { throw JSONError("unpaired surrogate", at: index) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw JSONError("unpaired surrogate", at: index - 6)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw JSONError("invalid code point", at: index - 6) }
                out.append(contentsOf: UTF8.encode(unicode)!)
            default:
                throw JSONError("invalid escape '\\\(Unicode.Scalar(escape))'", at: index - 2)
            }
        }
        return out
    }

    /// The string as a Swift `String` (escapes resolved; invalid UTF-8 is an error).
    public func string(_ ref: JSONStringRef) throws(JSONError) -> String {
        if !ref.hasEscapes, let text = String(validating: raw(ref), as: UTF8.self) { return text }
        guard let text = String(validating: try unescaped(ref), as: UTF8.self) else {
            throw JSONError("string is not valid UTF-8", at: ref.range.lowerBound)
        }
        return text
    }

    private func hex4(at index: Int) throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw JSONError("short \\u escape", at: index) }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[index + offset]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw JSONError("bad hex digit in \\u escape", at: index + offset)
            }
            value = value << 4 | digit
        }
        return value
    }

    // MARK: Helpers

    /// Moves past spaces, tabs and line breaks.
    @inline(__always)
    public mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): position += 1
            default: return
            }
        }
    }

    @inline(__always)
    private mutating func expect(_ byte: UInt8, _ message: @autoclosure () -> String) throws(JSONError) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { throw JSONError(message(), at: position) }
        position += 1
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
              memcmp(bytes.baseAddress! + position, word.utf8Start, count) == 0
        else { throw JSONError("invalid literal", at: position) }
        position += count
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
