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
            json.string(responseFor.rawValue)
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
        json.string(message.action.rawValue)
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
            json.optionalString(error?.name)
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
