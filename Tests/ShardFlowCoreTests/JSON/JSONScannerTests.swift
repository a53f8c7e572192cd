import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("JSON scanner and writer")
struct JSONScannerTests {
    func scan<T>(_ text: String, _ body: (inout JSONScanner) throws -> T) rethrows -> T {
        try Array(text.utf8).withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            return try body(&scanner)
        }
    }

    @Test("integers: limits, sign, rejection of fractions and overflow")
    func integers() throws {
        #expect(try scan("9223372036854775807") { try $0.readInteger() } == Int64.max)
        #expect(try scan("-9223372036854775808") { try $0.readInteger() } == Int64.min)
        #expect(throws: JSONError("integer out of range", at: 0)) { try scan("9223372036854775808") { try $0.readInteger() } }
        #expect(throws: JSONError("expected an integer, found a fraction or exponent", at: 0)) { try scan("1.5") { try $0.readInteger() } }
        #expect(throws: JSONError("expected an integer", at: 0)) { try scan("\"1\"") { try $0.readInteger() } }
    }

    @Test("skipping nested values and rejecting runaway nesting")
    func skipping() throws {
        try scan(#"{"a":[{"b":[[],{}]},-1.5e+3,"x\"y",true,false,null],"c":{}}"#) { scanner in
            try scanner.skipValue()
            try scanner.expectEnd()
        }
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONError.self) { try scan(deep) { try $0.skipValue() } }
    }

    @Test("malformed structure is reported with its offset")
    func malformed() {
        #expect(throws: JSONError("expected ',' or '}' in object", at: 7)) {
            try scan(#"{"a":1 "b":2}"#) { scanner in
                try scanner.beginObject()
                while let _ = try scanner.nextKey() { try scanner.skipValue() }
            }
        }
        #expect(throws: JSONError("unterminated string", at: 0)) { try scan(#""abc\""#) { try $0.readString() } }
        #expect(throws: JSONError("unpaired surrogate", at: 1)) {
            try scan(#""\ud83d""#) { scanner in
                let ref = try scanner.readString()
                return try scanner.unescaped(ref)
            }
        }
    }

    @Test("the writer escapes what JSON requires")
    func writerEscapes() throws {
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.beginObject()
        writer.key("k")
        writer.string("quote\" backslash\\ newline\n tab\t bell\u{07} é")
        writer.endObject()
        let text = String(buffer: writer.buffer)
        #expect(text == #"{"k":"quote\" backslash\\ newline\n tab\t bell\u0007 é"}"#)
        let back = try scan(text) { scanner -> String in
            try scanner.beginObject()
            _ = try scanner.nextKey()
            return try scanner.string(try scanner.readString())
        }
        #expect(back == "quote\" backslash\\ newline\n tab\t bell\u{07} é")
    }
}
