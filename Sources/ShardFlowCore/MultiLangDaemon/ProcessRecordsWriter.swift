// Unsafe hot path: writes records' JSON straight into reserved buffer memory (RawWriter).
import NIOCore

/// Builds a `processRecords` line record by record, base64-encoding each record's data
/// straight into the output (the local source's hot path).
public struct ProcessRecordsWriter {
    private var json: JSONWriter
    public private(set) var count = 0
    /// The last timestamp written and its decimal digits (at most 20 bytes).
    private var timestampCache: (value: Int64, digits: (UInt64, UInt64, UInt64), count: Int) = (.min, (0, 0, 0), 0)

    /// Writes into `buffer`, taking ownership of it: consumed, so the first write does not
    /// copy it (a borrowed buffer would be shared, and copied whole on that write).
    public init(buffer: consuming ByteBuffer) {
        json = JSONWriter(buffer: buffer)
        json.beginObject()
        json.key("action")
        json.string("processRecords")
        json.key("records")
        json.beginArray()
    }

    /// Bytes written so far.
    public var byteCount: Int { json.buffer.readableBytes }

    /// Appends a record, base64-encoding `data` (one buffer write when the key needs no escaping).
    public mutating func append(
        data: UnsafeRawBufferPointer,
        partitionKey: UnsafeRawBufferPointer?,
        sequenceNumber: UnsafeRawBufferPointer,
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?
    ) {
        appendFast(data: data, isBase64: false, partitionKey: partitionKey, sequenceNumber: sequenceNumber,
                   subSequenceNumber: subSequenceNumber, approximateArrivalTimestamp: approximateArrivalTimestamp)
    }

    /// Appends a record whose data is already base64 text (one buffer write when the key needs
    /// no escaping).
    public mutating func append(
        base64Text: UnsafeRawBufferPointer,
        partitionKey: UnsafeRawBufferPointer?,
        sequenceNumber: UnsafeRawBufferPointer,
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?
    ) {
        appendFast(data: base64Text, isBase64: true, partitionKey: partitionKey, sequenceNumber: sequenceNumber,
                   subSequenceNumber: subSequenceNumber, approximateArrivalTimestamp: approximateArrivalTimestamp)
    }

    /// Appends a record, its data base64 text (`isBase64`) or raw bytes, from a caller that knows
    /// which of its texts need no JSON escaping: `plainKey` for a partition key it checked before
    /// (or made itself), `plainSequenceNumber` for digits. The others are checked here.
    public mutating func append(
        data: UnsafeRawBufferPointer,
        isBase64: Bool,
        partitionKey: UnsafeRawBufferPointer?,
        plainKey: Bool,
        sequenceNumber: UnsafeRawBufferPointer,
        plainSequenceNumber: Bool,
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?
    ) {
        appendFast(data: data, isBase64: isBase64, partitionKey: partitionKey, sequenceNumber: sequenceNumber,
                   subSequenceNumber: subSequenceNumber, approximateArrivalTimestamp: approximateArrivalTimestamp,
                   checkKey: !plainKey, checkSequenceNumber: !plainSequenceNumber)
    }

    private mutating func appendFast(
        data: UnsafeRawBufferPointer,
        isBase64: Bool,
        partitionKey: UnsafeRawBufferPointer?,
        sequenceNumber: UnsafeRawBufferPointer,
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?,
        checkKey: Bool = true,
        checkSequenceNumber: Bool = true
    ) {
        if (checkKey && partitionKey.map(Self.needsEscaping) == true) || (checkSequenceNumber && Self.needsEscaping(sequenceNumber)) {
            if isBase64 {
                return append(base64Data: Array(data), partitionKey: partitionKey.map { Array($0) }, sequenceNumber: Array(sequenceNumber),
                              subSequenceNumber: subSequenceNumber, approximateArrivalTimestamp: approximateArrivalTimestamp)
            }
            return append(data: data, partitionKey: partitionKey.map { Array($0) }, sequenceNumber: Array(sequenceNumber),
                          subSequenceNumber: subSequenceNumber, approximateArrivalTimestamp: approximateArrivalTimestamp, general: ())
        }
        // Consecutive records mostly share their timestamp: its digits are rendered once.
        if let approximateArrivalTimestamp, approximateArrivalTimestamp != timestampCache.value {
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
            let length = withUnsafeMutableBytes(of: &digits) { raw in
                var writer = RawWriter(raw.baseAddress!)
                writer.decimal(approximateArrivalTimestamp)
                return writer.position
            }
            timestampCache = (approximateArrivalTimestamp, digits, length)
        }
        let timestamp = approximateArrivalTimestamp == nil ? nil : timestampCache
        let dataCount = isBase64 ? data.count : Base64.encodedCount(data.count)
        let reserve = 160 + dataCount + (partitionKey?.count ?? 0) + sequenceNumber.count
        let first = count == 0
        json.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: reserve) { output in
            var out = RawWriter(output.baseAddress!)
            out.text(first ? #"{"action":"record","data":""# : #",{"action":"record","data":""#)
            if isBase64 {
                out.bytes(data)
            } else {
                out.position += Base64.encode(data, to: out.base + out.position)
            }
            if let partitionKey {
                out.text(#"","partitionKey":""#)
                out.bytes(partitionKey)
                out.text(#"","sequenceNumber":""#)
            } else {
                out.text(#"","partitionKey":null,"sequenceNumber":""#)
            }
            out.bytes(sequenceNumber)
            out.text(#"","subSequenceNumber":"#)
            if let subSequenceNumber { out.decimal(subSequenceNumber) } else { out.text("null") }
            out.text(#","approximateArrivalTimestamp":"#)
            if let timestamp {
                withUnsafeBytes(of: timestamp.digits) { out.bytes(UnsafeRawBufferPointer(rebasing: $0[..<timestamp.count])) }
            } else {
                out.text("null")
            }
            out.byte(UInt8(ascii: "}"))
            return out.position
        }
        json.markValueWritten()
        count += 1
    }

    static func needsEscaping(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        var at = 0
        // Eight bytes per step: any control byte, quote or backslash in the word.
        while at + 8 <= bytes.count {
            let word = base.loadUnaligned(fromByteOffset: at, as: UInt64.self)
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            let control = (word &- ones &* 0x20) & ~word & highs
            let quote = (word ^ (ones &* 0x22)), backslash = (word ^ (ones &* 0x5C))
            let special = control | ((quote &- ones) & ~quote & highs) | ((backslash &- ones) & ~backslash & highs)
            if special != 0 { return true }
            at += 8
        }
        while at < bytes.count {
            let byte = bytes[at]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return true }
            at += 1
        }
        return false
    }

    /// Appends a record, base64-encoding `data`.
    public mutating func append(
        data: UnsafeRawBufferPointer,
        partitionKey: (some Collection<UInt8>)?,
        sequenceNumber: some Collection<UInt8>,
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?
    ) {
        append(data: data, partitionKey: partitionKey.map { Array($0) }, sequenceNumber: Array(sequenceNumber),
               subSequenceNumber: subSequenceNumber, approximateArrivalTimestamp: approximateArrivalTimestamp, general: ())
    }

    private mutating func append(
        data: UnsafeRawBufferPointer,
        partitionKey: [UInt8]?,
        sequenceNumber: [UInt8],
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?,
        general: Void
    ) {
        json.beginObject()
        json.key("action")
        json.string("record")
        json.key("data")
        json.rawString { Base64.encode(data, into: &$0) }
        json.key("partitionKey")
        if let partitionKey { json.string(bytes: partitionKey) } else { json.null() }
        json.key("sequenceNumber")
        json.string(bytes: sequenceNumber)
        json.key("subSequenceNumber")
        json.optionalInteger(subSequenceNumber)
        json.key("approximateArrivalTimestamp")
        json.optionalInteger(approximateArrivalTimestamp)
        json.endObject()
        count += 1
    }

    /// Appends a record whose data is already base64 text (copied as is: base64 needs no escaping).
    public mutating func append(
        base64Data: some Collection<UInt8>,
        partitionKey: (some Collection<UInt8>)?,
        sequenceNumber: some Collection<UInt8>,
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?
    ) {
        json.beginObject()
        json.key("action")
        json.string("record")
        json.key("data")
        json.rawString { $0.writeBytes(base64Data) }
        json.key("partitionKey")
        if let partitionKey { json.string(bytes: partitionKey) } else { json.null() }
        json.key("sequenceNumber")
        json.string(bytes: sequenceNumber)
        json.key("subSequenceNumber")
        json.optionalInteger(subSequenceNumber)
        json.key("approximateArrivalTimestamp")
        json.optionalInteger(approximateArrivalTimestamp)
        json.endObject()
        count += 1
    }

    /// Closes the message and returns the buffer holding the whole line.
    public mutating func finish(millisBehindLatest: Int64?) -> ByteBuffer {
        json.endArray()
        json.key("millisBehindLatest")
        json.optionalInteger(millisBehindLatest)
        json.endObject()
        json.buffer.writeInteger(UInt8(ascii: "\n"))
        return json.buffer
    }
}
