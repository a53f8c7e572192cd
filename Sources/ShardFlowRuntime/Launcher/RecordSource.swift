import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A record read by the local source: its line number (which makes its sequence number), its
/// partition key and its data (base64 text as read from a file, or raw bytes as generated).
struct SourceRecord: Sendable {
    enum Data: Sendable {
        case base64([UInt8])
        case raw([UInt8])
    }

    var lineNumber: Int
    var partitionKey: [UInt8]
    var data: Data
    /// A small number naming the partition key, when the source knows one (the generator):
    /// lets the reader remember each key's shard without hashing the key.
    var keyID: Int?
}

/// What one step of a source yields.
enum SourceItem: Sendable {
    case record(SourceRecord)
    /// A line that is not a valid record; reported with its location, never silently dropped.
    case invalid(lineNumber: Int, reason: String)
    /// A blank line.
    case blank
}

/// Produces the local source's records in order.
protocol RecordSource {
    /// nil at the end.
    mutating func next() throws -> SourceItem?
    /// Where records come from, for messages ("samples/records.jsonl").
    var location: String { get }
}

/// `file:PATH`: JSON lines `{"partitionKey": "...", "data": "<base64>"}`.
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
            do {
                try scanner.beginObject()
                while let key = try scanner.nextKey() {
                    if scanner.string(key, equals: "partitionKey") {
                        partitionKey = try scanner.unescaped(try scanner.readString())
                    } else if scanner.string(key, equals: "data") {
                        data = try scanner.unescaped(try scanner.readString())
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
            return SourceRecord(lineNumber: lineNumber, partitionKey: partitionKey, data: .base64(data))
        }
    }
}

/// `generate:COUNT[,size=BYTES][,keys=K]`: synthetic records, the same on every run: record i
/// has partition key `key-<i mod K>` and BYTES of JSON data `{"id":  "<i in 12 digits>","pad":"xx…"}`
/// (the padding shrinks, down to none, for small sizes).
///
/// Built for benchmarks: the fixed parts' base64 is computed once (the prefix and the id are
/// multiples of three bytes long, so their base64 texts concatenate), and only the id's 16
/// characters are encoded per record.
struct GeneratedRecordSource: RecordSource {
    let count: Int
    let size: Int
    let keys: Int
    private var produced = 0
    private var keyBytes: [[UInt8]?]
    private var scratch: [UInt8] = []
    private let prefix64: [UInt8]
    private let suffix64: [UInt8]

    var location: String { "generate:\(count),size=\(size),keys=\(keys)" }

    init(count: Int, size: Int = 100, keys: Int = 1000) {
        self.count = count
        self.size = size
        self.keys = keys
        self.keyBytes = Array(repeating: nil, count: min(keys, 1 << 20))
        let prefix = Array(#"{"id":  ""#.utf8)  // 9 bytes: a multiple of 3
        var suffix = Array(#"","pad":""#.utf8)
        let padding = size - prefix.count - 12 - suffix.count - 2
        if padding > 0 { suffix += Array(repeating: UInt8(ascii: "x"), count: padding) }
        suffix += Array(#""}"#.utf8)
        prefix64 = Array(Base64.encode(prefix).utf8)
        suffix64 = Array(Base64.encode(suffix).utf8)
    }

    mutating func next() throws -> SourceItem? {
        guard produced < count else { return nil }
        let index = produced
        produced += 1
        let keyIndex = index % keys
        let key: [UInt8]
        if keyIndex < keyBytes.count, let cached = keyBytes[keyIndex] {
            key = cached
        } else {
            key = Array("key-\(keyIndex)".utf8)
            if keyIndex < keyBytes.count { keyBytes[keyIndex] = key }
        }
        // The data is the same on every record but for the 16 base64 characters of the id,
        // rewritten in place.
        if scratch.isEmpty { scratch = prefix64 + [UInt8](repeating: 0, count: 16) + suffix64 }
        var digits: (UInt64, UInt64) = (0, 0)
        var id = index
        let start = prefix64.count
        withUnsafeMutableBytes(of: &digits) { raw in
            for position in (0..<12).reversed() {
                raw[position] = UInt8(ascii: "0") + UInt8(id % 10)
                id /= 10
            }
            scratch.withUnsafeMutableBytes { out in
                _ = Base64.encode(UnsafeRawBufferPointer(rebasing: raw[0..<12]), to: out.baseAddress! + start)
            }
        }
        return .record(SourceRecord(lineNumber: index + 1, partitionKey: key, data: .base64(scratch),
                                    keyID: keyIndex < keyBytes.count ? keyIndex : nil))
    }
}
