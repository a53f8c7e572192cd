/// A JSON number kept exactly as decimal digits: `1`, `1.0`, `10e-1` and `0.1E1` are the same
/// number, and integers beyond 2^53 (DynamoDB numbers have 38 digits) keep every digit.
public struct JSONNumber: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Significant digits without leading or trailing zeros (empty for zero).
    public let digits: [UInt8]
    /// The value is `digits × 10^exponent`.
    public let exponent: Int
    public let isNegative: Bool

    /// Normalises `digits × 10^exponent` (digits as ASCII, any leading or trailing zeros).
    init(isNegative: Bool, digits: some Collection<UInt8>, exponent: Int) {
        var significant = Array(digits.drop { $0 == UInt8(ascii: "0") })
        var exponent = exponent
        while significant.last == UInt8(ascii: "0") {
            significant.removeLast()
            exponent += 1
        }
        self.digits = significant
        self.exponent = significant.isEmpty ? 0 : exponent
        self.isNegative = significant.isEmpty ? false : isNegative
    }

    public init(_ value: Int) {
        let text = String(value.magnitude)
        self.init(isNegative: value < 0, digits: Array(text.utf8), exponent: 0)
    }

    /// Parses JSON number text (`-12.5e3`); nil when it is not one.
    public init?(text: String) {
        guard let value = try? JSONParser.parse(Array(text.utf8)), case .number(let number) = value else { return nil }
        self = number
    }

    public var isZero: Bool { digits.isEmpty }

    /// The nearest `Double` (for numeric comparisons in filters).
    public var doubleValue: Double { Double(description) ?? .nan }

    /// The canonical text: integers without exponent up to 21 digits, decimals with a point
    /// when the exponent is small, otherwise `d.ddde±x` — the forms ECMAScript prints, from the
    /// exact digits.
    public var description: String {
        guard !digits.isEmpty else { return "0" }
        let digitText = String(decoding: digits, as: UTF8.self)
        let sign = isNegative ? "-" : ""
        // The position of the decimal point counted from the first digit.
        let point = digits.count + exponent
        if exponent >= 0, point <= 21 {
            return sign + digitText + String(repeating: "0", count: exponent)
        }
        if point > 0, point <= 21 {
            let split = digitText.index(digitText.startIndex, offsetBy: point)
            return sign + digitText[..<split] + "." + digitText[split...]
        }
        if point <= 0, point > -6 {
            return sign + "0." + String(repeating: "0", count: -point) + digitText
        }
        let mantissa = digits.count == 1 ? digitText : String(digitText.prefix(1)) + "." + digitText.dropFirst()
        let power = point - 1
        return sign + mantissa + "e" + (power < 0 ? "-" : "+") + String(power.magnitude)
    }

    public static func < (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        if lhs.isNegative != rhs.isNegative { return lhs.isNegative }
        let magnitudeLess = lhs.magnitudeIsLess(than: rhs)
        if lhs.isNegative { return !magnitudeLess && lhs != rhs }
        return magnitudeLess
    }

    private func magnitudeIsLess(than other: JSONNumber) -> Bool {
        if isZero || other.isZero { return isZero && !other.isZero }
        let (point, otherPoint) = (digits.count + exponent, other.digits.count + other.exponent)
        if point != otherPoint { return point < otherPoint }
        for index in 0..<max(digits.count, other.digits.count) {
            let a = index < digits.count ? digits[index] : UInt8(ascii: "0")
            let b = index < other.digits.count ? other.digits[index] : UInt8(ascii: "0")
            if a != b { return a < b }
        }
        return false
    }
}
