import Foundation
import Testing

@testable import ShardFlowRuntime

@Suite("Line reader")
struct LineReaderTests {
    /// Writes `bytes` to a temporary file and reads it back line by line.
    static func lines(of bytes: [UInt8], maximum: Int = 64 * 1024 * 1024) throws -> [[UInt8]] {
        let path = NSTemporaryDirectory() + "shardflow-lines-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let descriptor = open(path, O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var reader = LineReader(descriptor: descriptor, maximumLineLength: maximum)
        var lines: [[UInt8]] = []
        while let line = try reader.next() { lines.append(line) }
        return lines
    }

    @Test("lines longer than a read, CRLF, empty lines and a last line without a newline")
    func shapes() throws {
        let long = (0..<(3 * LineReader.readSize + 12345)).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        let input = Array("first\r\n\n".utf8) + long + [0x0A] + Array("between\n".utf8) + long + Array("\nlast".utf8)
        let lines = try Self.lines(of: input)
        #expect(lines.count == 6)
        #expect(lines.map(\.count) == [5, 0, long.count, 7, long.count, 4])
        #expect(lines[0] == Array("first".utf8) && lines[3] == Array("between".utf8) && lines[5] == Array("last".utf8))
        #expect(lines[2] == long && lines[4] == long)
    }

    @Test("many short lines across read boundaries come back whole and in order")
    func manyShortLines() throws {
        let expected = (0..<200_000).map { Array("line \($0)".utf8) }
        let lines = try Self.lines(of: Array(expected.joined(separator: [0x0A])) + [0x0A])
        #expect(lines == expected)
    }

    @Test("a line over the maximum is an error naming the limit")
    func overlong() {
        let error = #expect(throws: ConfigurationError.self) {
            try Self.lines(of: [UInt8](repeating: 0x41, count: LineReader.readSize + 10) + [0x0A], maximum: 1000)
        }
        #expect(error?.description == "line longer than 1000 bytes")
    }
}
