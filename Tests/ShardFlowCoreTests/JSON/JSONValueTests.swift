import NIOCore
import Testing

@testable import ShardFlowCore

@Suite("JSON values, canonical text and numbers")
struct JSONValueTests {
    static func canonical(_ text: String) throws -> String {
        String(decoding: try JSONParser.parse(Array(text.utf8)).canonicalText, as: UTF8.self)
    }

    @Test("canonical text: members sorted, no whitespace, minimal escapes")
    func canonicalText() throws {
        #expect(try Self.canonical(#" { "b" : [ 1 , true , null ] , "a" : { "y" : "\u00e9\n" , "x" : "\/" } } "#)
            == #"{"a":{"x":"/","y":"é\n"},"b":[1,true,null]}"#)
        #expect(try Self.canonical(#"{"\u0001":"\"\\"}"#) == #"{"\u0001":"\"\\"}"#)
        #expect(try Self.canonical(#"["\ud83d\ude00"]"#) == "[\"😀\"]")
        // Sorted by UTF-16 code units: U+FB01 (one unit, 0xFB01) after U+1F600 (surrogates 0xD83D…).
        #expect(try Self.canonical(#"{"\ufb01":1,"\ud83d\ude00":2}"#) == "{\"😀\":2,\"ﬁ\":1}")
    }

    @Test("numbers: one form per value, every digit kept", arguments: [
        ("1", "1"), ("1.0", "1"), ("10e-1", "1"), ("0.1E1", "1"), ("-0", "0"), ("-0.0e5", "0"), ("100", "100"), ("1e2", "100"),
        ("1.5", "1.5"), ("-12.50", "-12.5"), ("0.000001", "0.000001"), ("1e-7", "1e-7"), ("123e18", "123000000000000000000"), ("123e20", "1.23e+22"),
        ("1e21", "1e+21"), ("123456789012345678901234567890", "1.2345678901234567890123456789e+29"),
        ("12345678901234567890", "12345678901234567890"), ("2.5E-3", "0.0025"),
        ("99E999999998", "9.9e+999999999"), ("-0.5e-999999998", "-5e-999999999"), ("0e1000000", "0"),
    ])
    func numbers(_ input: String, _ expected: String) throws {
        #expect(try Self.canonical(input) == expected)
        #expect(JSONNumber(text: expected) == JSONNumber(text: input), "the canonical text is the same number")
    }

    @Test("numbers compare by value")
    func numberOrder() {
        let values = ["-100", "-1.5", "-1", "0", "0.001", "1", "1.5", "2", "10", "1e3"].map { JSONNumber(text: $0)! }
        #expect(values == values.sorted())
        #expect(JSONNumber(text: "1.0") == JSONNumber(text: "1"))
        #expect(JSONNumber(text: "-2")! < JSONNumber(text: "-1.9")!)
        #expect(!(JSONNumber(text: "3")! < JSONNumber(text: "3.0")!))
    }

    @Test("strict: each kind of invalid JSON is refused with where", arguments: [
        ("", "expected a value at byte 0"),
        ("{\"a\":1,}", "expected a member name at byte 7"),
        ("[1,]", "expected a value at byte 3"),
        ("01", "a number with a leading zero at byte 0"),
        ("1.", "expected digits after '.' at byte 2"),
        ("\"a\u{1}\"", "a control character inside a string (it must be escaped) at byte 2"),
        ("\"\\x\"", "invalid escape \\x at byte 1"),
        ("\"\\ud800\"", "a high surrogate \\u escape without its low surrogate at byte 7"),
        ("{\"a\":1,\"a\":2}", "member \"a\" appears twice at byte 7"),
        ("[1] 2", "unexpected bytes after the JSON value at byte 4"),
        ("tru", "expected true at byte 0"),
        ("1e1000000000", "exponent out of range at byte 2"),
        // Digits move the power past the range though the exponent's text fits (found by fuzzing:
        // its canonical text, 9.9999999999999e+1000000012, did not parse back).
        ("99999999999999E999999999", "exponent out of range at byte 0"),
        ("0.001e-999999998", "exponent out of range at byte 0"),
    ])
    func invalid(_ text: String, _ message: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(Array(text.utf8)) }
        do {
            _ = try JSONParser.parse(Array(text.utf8))
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("invalid UTF-8 in a string and nesting beyond 64 levels are refused")
    func limits() {
        #expect(throws: JSONError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONError.self) { try JSONParser.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect((try? JSONParser.parse(Array(fine.utf8))) != nil)
    }
}
