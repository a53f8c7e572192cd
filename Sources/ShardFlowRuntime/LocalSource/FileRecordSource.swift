import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `file:PATH`: JSON lines `{"partitionKey": "...", "data": "<base64>"}`, optionally with
/// `"approximateArrivalTimestamp"` (epoch milliseconds; default: when the line is read).
struct FileRecordSource: RecordSource {
    let location: String
    private var reader: LineReader
    private let descriptor: CInt
    private var lineNumber = 0
    private let maximumRecordBytes: Int
    /// Where each record's base64 is decoded to check it (reused: no allocation per record).
    private var scratch = ByteBuffer()

    init(path: String, maximumRecordBytes: Int = 10 * 1024 * 1024) throws {
        location = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ConfigurationError("cannot open the source file \(path): \(String(cString: strerror(errno)))") }
        reader = LineReader(descriptor: descriptor, maximumLineLength: maximumRecordBytes * 2 + 64 * 1024)
        self.maximumRecordBytes = maximumRecordBytes
    }

    mutating func next() throws -> SourceItem? {
        let line: [UInt8]?
        do {
            line = try reader.next()
        } catch {
            lineNumber += 1
            throw ConfigurationError("\(location):\(lineNumber): \(error)")
        }
        guard let line else {
            close(descriptor)
            return nil
        }
        lineNumber += 1
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return .blank }
        do {
            return .record(try Self.parse(line, lineNumber: lineNumber, maximumRecordBytes: maximumRecordBytes, scratch: &scratch))
        } catch {
            return .invalid(lineNumber: lineNumber, reason: "\(error)")
        }
    }

    static func parse(_ line: [UInt8], lineNumber: Int, maximumRecordBytes: Int, scratch decoded: inout ByteBuffer) throws -> SourceRecord {
        try line.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            var partitionKey: [UInt8]?
            var data: [UInt8]?
            var arrival: Int64?
            do {
                try scanner.beginObject()
                while let key = try scanner.nextKey() {
                    if scanner.string(key, equals: "partitionKey") {
                        partitionKey = try scanner.unescaped(try scanner.readString())
                    } else if scanner.string(key, equals: "data") {
                        data = try scanner.unescaped(try scanner.readString())
                    } else if scanner.string(key, equals: "approximateArrivalTimestamp") {
                        arrival = try scanner.readOptionalInteger()
                    } else {
                        try scanner.skipValue()
                    }
                }
                try scanner.expectEnd()
            } catch let error as JSONError {
                throw ConfigurationError("invalid JSON: \(error)")
            }
            guard let partitionKey, !partitionKey.isEmpty else { throw ConfigurationError("missing or empty \"partitionKey\"") }
            guard partitionKey.count <= 256, String(validating: partitionKey, as: UTF8.self) != nil else {
                throw ConfigurationError("\"partitionKey\" must be 1 to 256 bytes of UTF-8")
            }
            guard let data else { throw ConfigurationError("missing \"data\"") }
            decoded.clear()
            let failure: Base64.DecodingError? = data.withUnsafeBytes { bytes in
                do throws(Base64.DecodingError) {
                    try Base64.decode(bytes, into: &decoded)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw ConfigurationError("\"data\" is not base64: \(failure)") }
            guard decoded.readableBytes <= maximumRecordBytes else {
                throw ConfigurationError("record of \(decoded.readableBytes) bytes exceeds \(maximumRecordBytes)")
            }
            if let arrival, arrival < 0 { throw ConfigurationError("\"approximateArrivalTimestamp\" must be epoch milliseconds, not \(arrival)") }
            return SourceRecord(lineNumber: lineNumber, partitionKey: partitionKey, data: .base64(data), arrivalTimestamp: arrival)
        }
    }
}
