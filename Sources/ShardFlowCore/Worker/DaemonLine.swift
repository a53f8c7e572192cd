import NIOCore

/// One line from the daemon, parsed for the worker: the records of a `processRecords` message
/// already encoded in wire layout (straight from the JSON text, each record's base64 decoded
/// once, into one buffer), or any other message.
public enum DaemonLine: Sendable {
    case processRecords(ReceivedRecords, millisBehindLatest: Int64?)
    case message(DaemonMessage)

    /// Parses `line`; records get consecutive indices from `firstIndex` on.
    public static func parse(_ line: ByteBuffer, firstIndex: UInt64) throws(MLDError) -> DaemonLine {
        var encoded = ByteBufferAllocator().buffer(capacity: line.readableBytes)
        var ends: [Int] = []
        let parsed: Result<MLDDecoder.Parsed, MLDError> = line.withUnsafeReadableBytes { raw in
            Result { () throws(MLDError) -> MLDDecoder.Parsed in
                try MLDDecoder.parseDaemonMessage(raw) { (view: MLDRecordView) throws(MLDError) in
                    do throws(Base64.DecodingError) {
                        try WireRecord.append(
                            index: firstIndex + UInt64(ends.count),
                            subSequenceNumber: view.subSequenceNumber.map { UInt64($0) },
                            arrivalTimestamp: view.approximateArrivalTimestamp,
                            sequenceNumber: view.sequenceNumber,
                            partitionKey: view.partitionKey,
                            base64Data: view.base64Data,
                            to: &encoded)
                    } catch {
                        throw MLDError(.invalidField(field: "data", reason: error.description))
                    }
                    ends.append(encoded.writerIndex)
                }
            }
        }
        switch parsed {
        case .success(.processRecords(_, let millisBehindLatest)):
            return .processRecords(ReceivedRecords(encoded: encoded, ends: ends), millisBehindLatest: millisBehindLatest)
        case .success(.message(let message)):
            return .message(message)
        case .failure(let error):
            throw error
        }
    }
}
