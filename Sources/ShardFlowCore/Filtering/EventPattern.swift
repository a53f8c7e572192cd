/// One `--filter` pattern, as Lambda event filtering writes them: a JSON object whose members
/// name fields of the event and hold either an array of ``ValueMatcher``s (any may match) or a
/// nested pattern for an object field. Every member must match.
///
/// ```
/// {"eventName": ["INSERT", "MODIFY"]}
/// {"data": {"type": ["order"], "amount": [{"numeric": [">", 100]}]}}
/// {"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": "deleted"}]}}}}
/// ```
public struct EventPattern: Hashable, Sendable, CustomStringConvertible {
    indirect enum Node: Hashable, Sendable {
        case matchers([ValueMatcher])
        case fields([String: Node])
    }

    let root: [String: Node]
    /// The pattern as given.
    public let text: String

    /// Parses a pattern; the error names the field and what is wrong.
    public init(_ text: String) throws(EventPatternError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(Array(text.utf8))
        } catch {
            throw EventPatternError(path: "", message: "not valid JSON: \(error)")
        }
        guard case .object(let members) = value, !members.isEmpty else {
            throw EventPatternError(path: "", message: "a pattern is a JSON object naming at least one field, such as {\"eventName\": [\"INSERT\"]}")
        }
        self.root = try Self.fields(members, path: "")
        self.text = text
    }

    public var description: String { text }

    private static func fields(_ members: [String: JSONValue], path: String) throws(EventPatternError) -> [String: Node] {
        var nodes: [String: Node] = [:]
        for (name, value) in members {
            let fieldPath = path + "/" + name
            switch value {
            case .array(let elements):
                guard !elements.isEmpty else { throw EventPatternError(path: fieldPath, message: "an empty list matches nothing") }
                var matchers: [ValueMatcher] = []
                for element in elements { matchers.append(try ValueMatcher.parse(element, path: fieldPath)) }
                nodes[name] = .matchers(matchers)
            case .object(let inner):
                guard !inner.isEmpty else { throw EventPatternError(path: fieldPath, message: "an empty object matches nothing") }
                nodes[name] = .fields(try fields(inner, path: fieldPath))
            default:
                throw EventPatternError(
                    path: fieldPath,
                    message: "expected a list of matchers such as [\(value.canonicalTextString)] or a nested object, not \(value.kindName)")
            }
        }
        return nodes
    }

    /// Whether the event matches.
    public func matches(_ event: JSONValue) -> Bool {
        Self.matches(root, event)
    }

    private static func matches(_ fields: [String: Node], _ value: JSONValue?) -> Bool {
        for (name, node) in fields {
            let field = value?[name]
            switch node {
            case .matchers(let matchers):
                guard matchers.contains(where: { $0.matches(field) }) else { return false }
            case .fields(let inner):
                guard let field, case .object = field, matches(inner, field) else {
                    // A nested pattern of `exists: false` matchers holds for a missing object.
                    if field == nil, allAbsent(inner) { continue }
                    return false
                }
            }
        }
        return true
    }

    /// Whether a nested pattern holds when its whole object is missing.
    private static func allAbsent(_ fields: [String: Node]) -> Bool {
        fields.values.allSatisfy { node in
            switch node {
            case .matchers(let matchers): matchers.contains { $0.matches(nil) }
            case .fields(let inner): allAbsent(inner)
            }
        }
    }
}

extension JSONValue {
    var canonicalTextString: String { String(decoding: canonicalText, as: UTF8.self) }
}
