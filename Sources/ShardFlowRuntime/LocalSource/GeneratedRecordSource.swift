// Unsafe hot path: rewrites each record's id digits in place through a raw pointer.
import NIOCore

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
    /// The key of the record being handed over when there are too many keys to cache.
    private var uncachedKey: [UInt8] = []
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
        var item: SourceItem?
        _ = try next { record in
            item = .record(SourceRecord(lineNumber: record.lineNumber, partitionKey: Array(record.partitionKey),
                                        data: .base64(Array(record.data)), keyID: record.keyID))
        }
        return item
    }

    /// The record in place: its key from the cache, its data from the scratch text with the
    /// id's characters rewritten (nothing allocated or counted per record).
    mutating func next(_ record: (SourceRecordView) throws -> Void) throws -> SourceStep {
        guard produced < count else { return .end }
        let index = produced
        produced += 1
        let keyIndex = index % keys
        if keyIndex >= keyBytes.count || keyBytes[keyIndex] == nil {
            let key = Array("key-\(keyIndex)".utf8)
            if keyIndex < keyBytes.count { keyBytes[keyIndex] = key } else { uncachedKey = key }
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
        let keyID = keyIndex < keyBytes.count ? keyIndex : nil
        // Locals, so the closures below capture no part of `self` (which would copy it whole).
        let key = keyID.flatMap { keyBytes[$0] } ?? uncachedKey
        let data = scratch
        try key.withUnsafeBytes { key in
            try data.withUnsafeBytes { data in
                // "key-N" needs no escaping.
                try record(SourceRecordView(lineNumber: index + 1, partitionKey: key, plainKey: true, keyID: keyID,
                                            data: data, isBase64: true, arrivalTimestamp: nil))
            }
        }
        return .record
    }
}
