import NIOCore

/// Parses MultiLangDaemon lines: daemon messages on the child side (lenient: unknown keys are
/// skipped, as newer daemons may add some) and child messages on the daemon side (strict, as
/// the Java daemon's Jackson mapper is: an unknown key makes the line unreadable).
public enum MLDDecoder {
    /// The result of the streaming parse: for `processRecords` the records went to the visitor.
    public enum Parsed: Hashable, Sendable {
        case processRecords(recordCount: Int, millisBehindLatest: Int64?)
        case message(DaemonMessage)
    }

    /// Parses a daemon → child line. Records of a `processRecords` message are handed one by one
    /// to `visitRecord` as borrowed views, in order; nothing else is kept of them.
    ///
    /// If this throws after some records were visited, the caller must discard what the visitor
    /// did with them: the line as a whole is invalid.
    public static func parseDaemonMessage(
        _ line: UnsafeRawBufferPointer,
        visitRecord: (MLDRecordView) throws(MLDError) -> Void
    ) throws(MLDError) -> Parsed {
        do throws(MLDError) {
            return try parseDaemonObject(line, visitRecord: visitRecord)
        } catch {
            var error = error
            error.snippet = MLDError.snippet(of: line)
            throw error
        }
    }

    /// Parses a daemon → child line into a value, decoding every record's data.
    public static func decodeDaemonMessage(_ line: some Collection<UInt8>) throws(MLDError) -> DaemonMessage {
        let bytes = Array(line)
        return try bytes.withUnsafeBytesTyped { (raw: UnsafeRawBufferPointer) throws(MLDError) -> DaemonMessage in
            var records: [MLDRecord] = []
            let parsed = try parseDaemonMessage(raw) { (view: MLDRecordView) throws(MLDError) in
                records.append(try MLDRecord(view))
            }
            switch parsed {
            case .message(let message): return message
            case .processRecords(_, let millisBehindLatest):
                return .processRecords(records: records, millisBehindLatest: millisBehindLatest)
            }
        }
    }

    /// Parses a child → daemon line, strictly: only `action`, `responseFor`, `sequenceNumber`,
    /// `subSequenceNumber` and `error` are understood.
    public static func decodeChildMessage(_ line: some Collection<UInt8>) throws(MLDError) -> ChildMessage {
        let bytes = Array(line)
        return try bytes.withUnsafeBytesTyped { (raw: UnsafeRawBufferPointer) throws(MLDError) -> ChildMessage in
            do throws(MLDError) {
                return try parseChildObject(raw)
            } catch {
                var error = error
                error.snippet = MLDError.snippet(of: raw)
                throw error
            }
        }
    }

    // MARK: Daemon messages

    private static func parseDaemonObject(
        _ line: UnsafeRawBufferPointer,
        visitRecord: (MLDRecordView) throws(MLDError) -> Void
    ) throws(MLDError) -> Parsed {
        var scanner = JSONScanner(line)
        var action: String?
        var shardId: String?
        var sequenceNumber: String?
        var subSequenceNumber: Int64?
        var error: String?
        var reason: String?
        var millisBehindLatest: Int64?
        var recordCount: Int?
        do {
            try scanner.beginObject()
            while let key = try scanner.nextKey() {
                if scanner.string(key, equals: "action") {
                    action = try scanner.string(try scanner.readString())
                } else if scanner.string(key, equals: "records") {
                    recordCount = try parseRecords(&scanner, visitRecord: visitRecord)
                } else if scanner.string(key, equals: "shardId") {
                    shardId = try scanner.readOptionalString().map { (ref) throws(JSONError) in try scanner.string(ref) }
                } else if scanner.string(key, equals: "sequenceNumber") {
                    sequenceNumber = try scanner.readOptionalString().map { (ref) throws(JSONError) in try scanner.string(ref) }
                } else if scanner.string(key, equals: "subSequenceNumber") {
                    subSequenceNumber = try scanner.readOptionalInteger()
                } else if scanner.string(key, equals: "millisBehindLatest") {
                    millisBehindLatest = try scanner.readOptionalInteger()
                } else if scanner.string(key, equals: "error") {
                    error = try scanner.readOptionalString().map { (ref) throws(JSONError) in try scanner.string(ref) }
                } else if scanner.string(key, equals: "reason") {
                    reason = try scanner.readOptionalString().map { (ref) throws(JSONError) in try scanner.string(ref) }
                } else {
                    try scanner.skipValue()
                }
            }
            try scanner.expectEnd()
        } catch {
            throw MLDError(.invalidJSON(error))
        }
        guard let action else { throw MLDError(.missingAction) }
        if recordCount != nil, action != "processRecords" {
            throw MLDError(.unexpectedKey("records"))
        }
        guard let known = MLDAction(rawValue: action) else { throw MLDError(.unknownAction(action)) }
        switch known {
        case .initialize:
            guard let shardId else { throw MLDError(.missingField("shardId")) }
            return .message(.initialize(shardId: shardId, sequenceNumber: sequenceNumber, subSequenceNumber: subSequenceNumber))
        case .processRecords:
            guard let recordCount else { throw MLDError(.missingField("records")) }
            return .processRecords(recordCount: recordCount, millisBehindLatest: millisBehindLatest)
        case .checkpoint:
            return .message(.checkpoint(
                sequenceNumber: sequenceNumber, subSequenceNumber: subSequenceNumber, error: error.map(CheckpointError.init(name:))))
        case .leaseLost:
            return .message(.leaseLost)
        case .shardEnded:
            return .message(.shardEnded)
        case .shutdownRequested:
            return .message(.shutdownRequested)
        case .shutdown:
            guard let reason else { throw MLDError(.missingField("reason")) }
            return .message(.shutdown(reason: ShutdownReason(reason)))
        case .status:
            throw MLDError(.unknownAction(action))
        }
    }

    private static func parseRecords(
        _ scanner: inout JSONScanner,
        visitRecord: (MLDRecordView) throws(MLDError) -> Void
    ) throws(JSONError) -> Int {
        var count = 0
        if scanner.consumeNull() { return 0 }
        try scanner.beginArray()
        while try scanner.nextElement() {
            try parseRecord(&scanner, index: count, visitRecord: visitRecord)
            count += 1
        }
        return count
    }

    /// Signals a visitor or field error out of the JSON layer without losing its kind.
    private struct RecordFailure: Error { var error: MLDError }

    private static func parseRecord(
        _ scanner: inout JSONScanner,
        index: Int,
        visitRecord: (MLDRecordView) throws(MLDError) -> Void
    ) throws(JSONError) {
        var data: JSONStringRef?
        var partitionKey: JSONStringRef?
        var sequenceNumber: JSONStringRef?
        var subSequenceNumber: Int64?
        var timestamp: Int64?
        if let fast = RecordFastPath.parse(scanner.bytes, at: scanner.position) {
            (data, partitionKey, sequenceNumber, subSequenceNumber, timestamp) =
                (fast.data, fast.partitionKey, fast.sequenceNumber, fast.subSequenceNumber, fast.timestamp)
            scanner.reposition(fast.end)
        } else {
            try scanner.beginObject()
            while let key = try scanner.nextKey() {
                // Dispatch on the key's length first: one comparison per key.
                switch key.hasEscapes ? -1 : key.range.count {
                case 4 where scanner.string(key, equals: "data"):
                    data = try scanner.readOptionalString()
                case 12 where scanner.string(key, equals: "partitionKey"):
                    partitionKey = try scanner.readOptionalString()
                case 14 where scanner.string(key, equals: "sequenceNumber"):
                    sequenceNumber = try scanner.readOptionalString()
                case 17 where scanner.string(key, equals: "subSequenceNumber"):
                    subSequenceNumber = try scanner.readOptionalInteger()
                case 27 where scanner.string(key, equals: "approximateArrivalTimestamp"):
                    timestamp = try scanner.readOptionalInteger()
                case -1:
                    // An escaped key: compare its unescaped text.
                    if scanner.string(key, equals: "data") {
                        data = try scanner.readOptionalString()
                    } else if scanner.string(key, equals: "partitionKey") {
                        partitionKey = try scanner.readOptionalString()
                    } else if scanner.string(key, equals: "sequenceNumber") {
                        sequenceNumber = try scanner.readOptionalString()
                    } else if scanner.string(key, equals: "subSequenceNumber") {
                        subSequenceNumber = try scanner.readOptionalInteger()
                    } else if scanner.string(key, equals: "approximateArrivalTimestamp") {
                        timestamp = try scanner.readOptionalInteger()
                    } else {
                        try scanner.skipValue()
                    }
                default:
                    try scanner.skipValue()  // "action":"record" and anything newer
                }
            }
        }
        let recordStart = scanner.position
        guard let sequenceNumber else {
            throw JSONError("record \(index) has no sequenceNumber", at: recordStart)
        }
        // Every record the daemon sends has its data (empty records as ""); one without is not a
        // record this worker can process, and is never processed as if it were empty.
        guard let data else {
            throw JSONError("record \(index) has no data", at: recordStart)
        }
        let sequenceBytes = scanner.raw(sequenceNumber)
        guard !sequenceBytes.isEmpty, sequenceBytes.count <= 255,
              !sequenceNumber.hasEscapes,
              SequenceNumber.areDigits(sequenceBytes)
        else {
            throw JSONError("record \(index) sequenceNumber is not 1 to 255 decimal digits", at: sequenceNumber.range.lowerBound)
        }
        if let subSequenceNumber, subSequenceNumber < 0 {
            throw JSONError("record \(index) subSequenceNumber is negative", at: recordStart)
        }
        let dataBytes = try Resolved(data, in: scanner)
        let keyBytes = try partitionKey.map { (ref) throws(JSONError) in try Resolved(ref, in: scanner) }
        if let keyBytes, keyBytes.count > Int(UInt16.max) {
            throw JSONError("record \(index) partitionKey is longer than 65535 bytes", at: recordStart)
        }
        var failure: MLDError?
        Resolved.with(dataBytes) { dataPointer in
            Resolved.with(keyBytes) { keyPointer in
                do throws(MLDError) {
                    try visitRecord(MLDRecordView(
                        base64Data: dataPointer!,
                        partitionKey: keyPointer,
                        sequenceNumber: sequenceBytes,
                        subSequenceNumber: subSequenceNumber,
                        approximateArrivalTimestamp: timestamp
                    ))
                } catch {
                    failure = error
                }
            }
        }
        if let failure {
            throw JSONError("record \(index): \(failure.kind)", at: recordStart)
        }
    }

    /// A string's bytes: borrowed from the line when it has no escapes, else unescaped copies.
    private enum Resolved {
        case borrowed(UnsafeRawBufferPointer)
        case owned([UInt8])

        init(_ ref: JSONStringRef, in scanner: JSONScanner) throws(JSONError) {
            self = ref.hasEscapes ? .owned(try scanner.unescaped(ref)) : .borrowed(scanner.raw(ref))
        }

        var count: Int {
            switch self {
            case .borrowed(let pointer): pointer.count
            case .owned(let bytes): bytes.count
            }
        }

        static func with(_ value: Resolved?, _ body: (UnsafeRawBufferPointer?) -> Void) {
            switch value {
            case nil: body(nil)
            case .borrowed(let pointer): body(pointer)
            case .owned(let bytes): bytes.withUnsafeBytes { body($0) }
            }
        }
    }

    // MARK: Child messages

    private static func parseChildObject(_ line: UnsafeRawBufferPointer) throws(MLDError) -> ChildMessage {
        var scanner = JSONScanner(line)
        var action: String?
        var responseFor: String?
        var sequenceNumber: String?
        var subSequenceNumber: Int64?
        do {
            try scanner.beginObject()
            while let key = try scanner.nextKey() {
                if scanner.string(key, equals: "action") {
                    action = try scanner.string(try scanner.readString())
                } else if scanner.string(key, equals: "responseFor") {
                    responseFor = try scanner.readOptionalString().map { (ref) throws(JSONError) in try scanner.string(ref) }
                } else if scanner.string(key, equals: "sequenceNumber") {
                    sequenceNumber = try scanner.readOptionalString().map { (ref) throws(JSONError) in try scanner.string(ref) }
                } else if scanner.string(key, equals: "subSequenceNumber") {
                    subSequenceNumber = try scanner.readOptionalInteger()
                } else if scanner.string(key, equals: "error") {
                    try scanner.skipValue()  // part of the Java class, ignored on input
                } else {
                    throw MLDError(.unexpectedKey((try? scanner.string(key)) ?? "?"))
                }
            }
            try scanner.expectEnd()
        } catch let error as JSONError {
            throw MLDError(.invalidJSON(error))
        } catch let error as MLDError {
            throw error
        } catch {
            throw MLDError(.invalidJSON(JSONError("\(error)", at: scanner.position)))
        }
        switch action {
        case nil:
            throw MLDError(.missingAction)
        case "status":
            guard let responseFor else { throw MLDError(.missingField("responseFor")) }
            guard let action = MLDAction(rawValue: responseFor) else {
                throw MLDError(.invalidField(field: "responseFor", reason: "\"\(responseFor)\" is not an action"))
            }
            return .status(responseFor: action)
        case "checkpoint":
            return .checkpoint(sequenceNumber: sequenceNumber, subSequenceNumber: subSequenceNumber)
        case let other?:
            throw MLDError(.unknownAction(other))
        }
    }
}

extension MLDRecord {
    /// Copies a borrowed record view, decoding its base64 data.
    public init(_ view: MLDRecordView) throws(MLDError) {
        var buffer = ByteBuffer()
        do {
            try Base64.decode(view.base64Data, into: &buffer)
        } catch {
            throw MLDError(.invalidField(field: "data", reason: error.description))
        }
        self.init(
            data: Array(buffer.readableBytesView),
            partitionKey: view.partitionKey.map { String(decoding: $0, as: UTF8.self) },
            sequenceNumber: String(decoding: view.sequenceNumber, as: UTF8.self),
            subSequenceNumber: view.subSequenceNumber,
            approximateArrivalTimestamp: view.approximateArrivalTimestamp
        )
    }
}

