/// An event pattern that cannot be used, with the field it concerns.
public struct EventPatternError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field, as a JSON pointer (`/dynamodb/NewImage`); empty for the whole pattern.
    public var path: String
    public var message: String

    public var description: String { path.isEmpty ? message : "at \(path): \(message)" }
}
