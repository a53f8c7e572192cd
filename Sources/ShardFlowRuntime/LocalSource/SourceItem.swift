/// What one step of a source yields.
enum SourceItem: Sendable {
    case record(SourceRecord)
    /// A line that is not a valid record; reported with its location, never silently dropped.
    case invalid(lineNumber: Int, reason: String)
    /// A blank line.
    case blank
}
