/// A JSON document as a tree, as strict RFC 8259 JSON (see ``JSONParser``). Used where a value
/// is looked at as a whole: canonical keys and event filters. Hot paths that only pick a field
/// out of a line use ``JSONScanner`` instead.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    /// Members by name; a document naming a member twice is refused by the parser.
    case object([String: JSONValue])

    /// The member `name` of an object (nil for other values and missing members).
    public subscript(name: String) -> JSONValue? {
        if case .object(let members) = self { return members[name] }
        return nil
    }

    /// The value's text when it is a string.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// What kind of value this is, for messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
