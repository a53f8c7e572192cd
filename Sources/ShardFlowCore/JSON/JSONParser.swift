/// A strict RFC 8259 parser into ``JSONValue``: one value, optionally surrounded by whitespace;
/// strings must be valid UTF-8 without raw control characters; escapes, numbers and literals as
/// the RFC writes them; no member named twice in one object; at most 64 levels of nesting.
public enum JSONParser {
    public static let maximumDepth = 64
    /// Largest power of ten of a number's first significant digit, either way (`9.9e+999999999`).
    public static let maximumPower = 999_999_999

    /// Parses a whole document.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        let array = Array(bytes)
        var parser = Parser(bytes: array)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == array.count else { throw JSONError("unexpected bytes after the JSON value", at: parser.position) }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(JSONError) -> JSONValue {
            guard position < bytes.count else { throw JSONError("expected a value", at: position) }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw JSONError("expected a value", at: position)
            }
        }

        mutating func object(depth: Int) throws(JSONError) -> JSONValue {
            guard depth <= JSONParser.maximumDepth else { throw JSONError("nested deeper than \(JSONParser.maximumDepth) levels", at: position) }
            position += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                let nameAt = position
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw JSONError("expected a member name", at: position)
                }
                let name = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "expected ':' after a member name")
                skipWhitespace()
                let member = try value(depth: depth)
                guard members.updateValue(member, forKey: name) == nil else {
                    throw JSONError("member \"\(name)\" appears twice", at: nameAt)
                }
                skipWhitespace()
                guard position < bytes.count else { throw JSONError("unterminated object", at: position) }
                if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(members)
                }
                try expect(UInt8(ascii: ","), "expected ',' or '}' in an object")
            }
        }

        mutating func array(depth: Int) throws(JSONError) -> JSONValue {
            guard depth <= JSONParser.maximumDepth else { throw JSONError("nested deeper than \(JSONParser.maximumDepth) levels", at: position) }
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth))
                skipWhitespace()
                guard position < bytes.count else { throw JSONError("unterminated array", at: position) }
                if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(elements)
                }
                try expect(UInt8(ascii: ","), "expected ',' or ']' in an array")
            }
        }

        mutating func string() throws(JSONError) -> String {
            let start = position
            position += 1
            var scalars: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    guard let text = String(validating: scalars, as: UTF8.self) else {
                        throw JSONError("string is not valid UTF-8", at: start)
                    }
                    return text
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.count else { throw JSONError("unterminated string", at: start) }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
                    case UInt8(ascii: "b"): scalars.append(0x08)
                    case UInt8(ascii: "f"): scalars.append(0x0C)
                    case UInt8(ascii: "n"): scalars.append(0x0A)
                    case UInt8(ascii: "r"): scalars.append(0x0D)
                    case UInt8(ascii: "t"): scalars.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800...0xDBFF).contains(code) {
                            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                                throw JSONError("a high surrogate \\u escape without its low surrogate", at: position)
                            }
                            position += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw JSONError("invalid low surrogate", at: position - 6) }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(code) {
                            throw JSONError("a lone low surrogate \\u escape", at: position - 6)
                        }
                        scalars.append(contentsOf: Array(String(Character(Unicode.Scalar(code)!)).utf8))
                    default:
                        throw JSONError("invalid escape \\\(Character(Unicode.Scalar(escape)))", at: position - 2)
                    }
                case 0x00..<0x20:
                    throw JSONError("a control character inside a string (it must be escaped)", at: position)
                default:
                    scalars.append(byte)
                    position += 1
                }
            }
            throw JSONError("unterminated string", at: start)
        }

        mutating func hex4() throws(JSONError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw JSONError("truncated \\u escape", at: position) }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw JSONError("invalid hex digit in a \\u escape", at: position)
                }
                value = value << 4 | digit
                position += 1
            }
            return value
        }

        mutating func number() throws(JSONError) -> JSONNumber {
            let start = position
            var negative = false
            if bytes[position] == UInt8(ascii: "-") {
                negative = true
                position += 1
            }
            var digits: [UInt8] = []
            let integerStart = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                digits.append(bytes[position])
                position += 1
            }
            guard !digits.isEmpty else { throw JSONError("expected digits", at: position) }
            if digits.count > 1, bytes[integerStart] == UInt8(ascii: "0") { throw JSONError("a number with a leading zero", at: start) }
            var exponent = 0
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                let fractionStart = position
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                    digits.append(bytes[position])
                    position += 1
                }
                guard position > fractionStart else { throw JSONError("expected digits after '.'", at: position) }
                exponent -= position - fractionStart
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                var exponentNegative = false
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                    exponentNegative = bytes[position] == UInt8(ascii: "-")
                    position += 1
                }
                var value = 0
                let exponentStart = position
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                    guard value < 100_000_000 else { throw JSONError("exponent out of range", at: exponentStart) }
                    value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
                    position += 1
                }
                guard position > exponentStart else { throw JSONError("expected digits in the exponent", at: position) }
                exponent += exponentNegative ? -value : value
            }
            let number = JSONNumber(isNegative: negative, digits: digits, exponent: exponent)
            // The range is of the number, not of its exponent's text: its canonical text
            // (`d.ddde±x`, x = this power) must parse again, so x has at most 9 digits too.
            guard number.isZero || abs(number.digits.count + number.exponent - 1) <= JSONParser.maximumPower else {
                throw JSONError("exponent out of range", at: start)
            }
            return number
        }

        mutating func literal(_ word: StaticString) throws(JSONError) {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count,
                  word.withUTF8Buffer({ Array($0) }) == Array(bytes[position..<position + count])
            else { throw JSONError("expected \(word)", at: position) }
            position += count
        }

        mutating func expect(_ byte: UInt8, _ message: String) throws(JSONError) {
            guard position < bytes.count, bytes[position] == byte else { throw JSONError(message, at: position) }
            position += 1
        }
    }
}
