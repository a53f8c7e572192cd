/// Produces the local source's records in order.
protocol RecordSource {
    /// nil at the end.
    mutating func next() throws -> SourceItem?
    /// Where records come from, for messages ("samples/records.jsonl").
    var location: String { get }
}
