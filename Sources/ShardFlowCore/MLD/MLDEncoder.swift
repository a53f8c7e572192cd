import NIOCore

/// Writes MultiLangDaemon lines (JSON + `\n`). Child messages carry only the documented keys,
/// with explicit nulls, because the Java daemon skips any line with a key it does not know.
/// Daemon messages are shaped like the Java daemon's Jackson output (explicit nulls included).
public enum MLDEncoder {
    /// Appends a child → daemon line.
    public static func encode(_ message: ChildMessage, into buffer: inout ByteBuffer) {
        var json = JSONWriter(buffer: buffer)
        buffer = ByteBuffer()  // hand the storage to the writer without a copy
        json.beginObject()
        switch message {
        case .status(let responseFor):
            json.key("action")
            json.string("status")
            json.key("responseFor")
            json.string(responseFor)
        case .checkpoint(let sequenceNumber, let subSequenceNumber):
            json.key("action")
            json.string("checkpoint")
            json.key("sequenceNumber")
            json.optionalString(sequenceNumber)
            json.key("subSequenceNumber")
            json.optionalInteger(subSequenceNumber)
        }
        json.endObject()
        json.buffer.writeInteger(UInt8(ascii: "\n"))
        buffer = json.buffer
    }

    /// Appends a daemon → child line.
    public static func encode(_ message: DaemonMessage, into buffer: inout ByteBuffer) {
        if case .processRecords(let records, let millisBehindLatest) = message {
            var writer = ProcessRecordsWriter(buffer: buffer)
            buffer = ByteBuffer()
            for record in records {
                record.data.withUnsafeBytes { data in
                    writer.append(
                        data: data,
                        partitionKey: record.partitionKey?.utf8,
                        sequenceNumber: record.sequenceNumber.utf8,
                        subSequenceNumber: record.subSequenceNumber,
                        approximateArrivalTimestamp: record.approximateArrivalTimestamp
                    )
                }
            }
            buffer = writer.finish(millisBehindLatest: millisBehindLatest)
            return
        }
        var json = JSONWriter(buffer: buffer)
        buffer = ByteBuffer()
        json.beginObject()
        json.key("action")
        json.string(message.action)
        switch message {
        case .initialize(let shardId, let sequenceNumber, let subSequenceNumber):
            json.key("shardId")
            json.string(shardId)
            json.key("sequenceNumber")
            json.optionalString(sequenceNumber)
            json.key("subSequenceNumber")
            json.optionalInteger(subSequenceNumber)
        case .checkpoint(let sequenceNumber, let subSequenceNumber, let error):
            json.key("sequenceNumber")
            json.optionalString(sequenceNumber)
            json.key("subSequenceNumber")
            json.optionalInteger(subSequenceNumber)
            json.key("error")
            json.optionalString(error)
        case .shutdown(let reason):
            json.key("reason")
            json.string(reason.description)
        case .leaseLost, .shardEnded, .shutdownRequested, .processRecords:
            break
        }
        json.endObject()
        json.buffer.writeInteger(UInt8(ascii: "\n"))
        buffer = json.buffer
    }

    /// The line of a message, as a `String` (tests, logs).
    public static func line(_ message: ChildMessage) -> String {
        var buffer = ByteBuffer()
        encode(message, into: &buffer)
        return String(buffer: buffer)
    }

    /// The line of a message, as a `String` (tests, logs).
    public static func line(_ message: DaemonMessage) -> String {
        var buffer = ByteBuffer()
        encode(message, into: &buffer)
        return String(buffer: buffer)
    }
}

/// Builds a `processRecords` line record by record, base64-encoding each record's data
/// straight into the output (the local source's hot path).
public struct ProcessRecordsWriter {
    private var json: JSONWriter
    public private(set) var count = 0

    public init(buffer: ByteBuffer) {
        json = JSONWriter(buffer: buffer)
        json.beginObject()
        json.key("action")
        json.string("processRecords")
        json.key("records")
        json.beginArray()
    }

    /// Bytes written so far.
    public var byteCount: Int { json.buffer.readableBytes }

    public mutating func append(
        data: UnsafeRawBufferPointer,
        partitionKey: (some Collection<UInt8>)?,
        sequenceNumber: some Collection<UInt8>,
        subSequenceNumber: Int64?,
        approximateArrivalTimestamp: Int64?
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
