/// A Java `.properties` file, as the KCL reads its configuration: `key = value` or
/// `key: value`; `#` and `!` comments; a backslash at the end of a line continues it; escapes
/// (`\t`, `\n`, `\uXXXX`, `\=` …) in keys and values. Stricter than Java in one way: a line
/// must have its `=` or `:` (Java would also read `some words here` as key `some`), so a line
/// of prose is reported instead of becoming a property nobody meant.
public enum JavaProperties {
    /// One property and the physical lines (1-based) it spans.
    public struct Entry: Hashable, Sendable {
        public var key: String
        public var value: String
        public var lines: ClosedRange<Int>
    }

    /// A line that is not a property.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Parses `text`. Keys must look like configuration keys (a letter, then letters, digits,
    /// `.`, `_` or `-`): a line of prose is an error naming its line, not a property.
    public static func parse(_ text: some Collection<UInt8>) throws(Failure) -> [Entry] {
        let physical = split(Array(text))
        var entries: [Entry] = []
        var index = 0
        while index < physical.count {
            let first = index + 1
            var logical = trimLeading(physical[index])
            index += 1
            if logical.isEmpty || logical.first == UInt8(ascii: "#") || logical.first == UInt8(ascii: "!") { continue }
            while endsWithContinuation(logical), index < physical.count {
                logical.removeLast()
                logical += trimLeading(physical[index])
                index += 1
            }
            if endsWithContinuation(logical) { logical.removeLast() }
            let (rawKey, rawValue, separated) = separate(logical)
            guard separated else {
                let shown = String(decoding: logical.prefix(60), as: UTF8.self)
                throw Failure(line: first, message: "\"\(shown)\" is not a property (expected KEY = VALUE)")
            }
            let key = try unescape(rawKey, line: first)
            let value = try unescape(rawValue, line: first)
            guard isConfigurationKey(key) else {
                let shown = String(decoding: logical.prefix(60), as: UTF8.self)
                throw Failure(line: first, message: "\"\(shown)\" is not a property (expected KEY = VALUE)")
            }
            entries.append(Entry(key: key, value: value, lines: first...index))
        }
        return entries
    }

    private static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if previous != UInt8(ascii: "\r") { lines.append(current) }
                current = []
            } else if byte == UInt8(ascii: "\r") {
                lines.append(current)
                current = []
            } else {
                current.append(byte)
            }
            previous = byte
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0C }

    private static func trimLeading(_ line: [UInt8]) -> [UInt8] { Array(line.drop(while: isSpace)) }

    /// An odd number of trailing backslashes continues the line.
    private static func endsWithContinuation(_ line: [UInt8]) -> Bool {
        var count = 0
        for byte in line.reversed() {
            guard byte == UInt8(ascii: "\\") else { break }
            count += 1
        }
        return count % 2 == 1
    }

    /// Splits a logical line at the first unescaped `=`, `:` or whitespace; `separated` tells
    /// whether an `=` or `:` followed the key.
    private static func separate(_ line: [UInt8]) -> ([UInt8], [UInt8], separated: Bool) {
        var position = 0
        var escaped = false
        while position < line.count {
            let byte = line[position]
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "=") || byte == UInt8(ascii: ":") || isSpace(byte) {
                break
            }
            position += 1
        }
        let key = Array(line[..<position])
        var rest = line[position...].drop(while: isSpace)
        var separated = false
        if let first = rest.first, first == UInt8(ascii: "=") || first == UInt8(ascii: ":") {
            rest = rest.dropFirst().drop(while: isSpace)
            separated = true
        }
        return (key, Array(rest), separated || (rest.isEmpty && !key.isEmpty && position == line.count))
    }

    private static func unescape(_ bytes: [UInt8], line: Int) throws(Failure) -> String {
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
            utf8.removeAll()
        }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            guard byte == UInt8(ascii: "\\"), index < bytes.count else {
                if byte != UInt8(ascii: "\\") { utf8.append(byte) }
                continue
            }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "u"):
                guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(code) else {
                    throw Failure(line: line, message: "a \\u escape needs four hexadecimal digits of a valid character")
                }
                flush()
                scalars.append(scalar)
                index += 4
            default: utf8.append(escape)
            }
        }
        flush()
        return String(scalars)
    }

    private static func isConfigurationKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, ("a"..."z").contains(first) || ("A"..."Z").contains(first) else { return false }
        return key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-"
        }
    }
}
