/// What one step of ``RecordSource/next(_:)`` read.
enum SourceStep {
    /// A record, handed to the step's closure.
    case record
    /// A line that is not a valid record; reported with its location, never silently dropped.
    case invalid(lineNumber: Int, reason: String)
    /// A blank line.
    case blank
    /// The end of the source.
    case end
}
