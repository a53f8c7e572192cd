/// Produces the local source's records in order.
protocol RecordSource {
    /// nil at the end.
    mutating func next() throws -> SourceItem?
    /// Reads the next step; a record is handed to `record` in place (the reading loop's way: no
    /// copy of it is made or kept).
    mutating func next(_ record: (SourceRecordView) throws -> Void) throws -> SourceStep
    /// Where records come from, for messages ("samples/records.jsonl").
    var location: String { get }
}

extension RecordSource {
    /// Through ``next()``: for sources that build their records as values anyway.
    mutating func next(_ record: (SourceRecordView) throws -> Void) throws -> SourceStep {
        guard let item = try next() else { return .end }
        switch item {
        case .record(let value):
            try value.partitionKey.withUnsafeBytes { key in
                switch value.data {
                case .base64(let text):
                    try text.withUnsafeBytes { data in
                        try record(SourceRecordView(lineNumber: value.lineNumber, partitionKey: key, plainKey: false, keyID: value.keyID,
                                                    data: data, isBase64: true, arrivalTimestamp: value.arrivalTimestamp))
                    }
                case .raw(let bytes):
                    try bytes.withUnsafeBytes { data in
                        try record(SourceRecordView(lineNumber: value.lineNumber, partitionKey: key, plainKey: false, keyID: value.keyID,
                                                    data: data, isBase64: false, arrivalTimestamp: value.arrivalTimestamp))
                    }
                }
            }
            return .record
        case .invalid(let lineNumber, let reason):
            return .invalid(lineNumber: lineNumber, reason: reason)
        case .blank:
            return .blank
        }
    }
}
