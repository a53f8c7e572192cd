/// One condition of an event pattern on one field, as Lambda event filtering writes them:
/// an exact value, or `{"prefix": …}`, `{"suffix": …}`, `{"equals-ignore-case": …}`,
/// `{"anything-but": …}`, `{"numeric": […]}`, `{"exists": true|false}`.
public indirect enum ValueMatcher: Hashable, Sendable {
    /// The field's value equals this one (numbers compare by value: `1` matches `1.0`).
    case equals(JSONValue)
    case prefix(String)
    case suffix(String)
    case equalsIgnoringCase(String)
    /// The field exists and matches none of these.
    case anythingBut([ValueMatcher])
    /// The field is a number within every one of these bounds.
    case numeric([(NumericComparison, JSONNumber)])
    /// The field exists (true) or does not (false).
    case exists(Bool)

    public enum NumericComparison: String, Hashable, Sendable, CaseIterable {
        case equal = "="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
    }

    /// Parses one element of a field's matcher array; `path` names the field in errors.
    static func parse(_ value: JSONValue, path: String) throws(EventPatternError) -> ValueMatcher {
        switch value {
        case .null, .bool, .number, .string:
            return .equals(value)
        case .array:
            throw EventPatternError(path: path, message: "a matcher cannot be an array; list the values in the field's array instead")
        case .object(let members):
            guard members.count == 1, let (name, argument) = members.first else {
                throw EventPatternError(path: path, message: "a matcher object has exactly one member, such as {\"prefix\": \"abc\"}")
            }
            switch name {
            case "prefix", "suffix", "equals-ignore-case":
                guard case .string(let text) = argument else {
                    throw EventPatternError(path: path, message: "\"\(name)\" takes a string, not \(argument.kindName)")
                }
                return name == "prefix" ? .prefix(text) : name == "suffix" ? .suffix(text) : .equalsIgnoringCase(text)
            case "anything-but":
                let excluded: [JSONValue]
                if case .array(let values) = argument { excluded = values } else { excluded = [argument] }
                guard !excluded.isEmpty else { throw EventPatternError(path: path, message: "\"anything-but\" needs at least one value") }
                var matchers: [ValueMatcher] = []
                for value in excluded {
                    switch value {
                    case .null, .bool, .number, .string:
                        matchers.append(.equals(value))
                    case .object(let inner) where inner.count == 1 && (inner["prefix"] != nil || inner["suffix"] != nil):
                        matchers.append(try parse(value, path: path))
                    default:
                        throw EventPatternError(
                            path: path, message: "\"anything-but\" takes values, a list of values, or {\"prefix\": …} / {\"suffix\": …}")
                    }
                }
                return .anythingBut(matchers)
            case "numeric":
                guard case .array(let terms) = argument, terms.count == 2 || terms.count == 4 else {
                    throw EventPatternError(path: path, message: "\"numeric\" takes [op, number] or [op, number, op, number], such as [\">\", 0, \"<=\", 5]")
                }
                var bounds: [(NumericComparison, JSONNumber)] = []
                for index in stride(from: 0, to: terms.count, by: 2) {
                    guard case .string(let symbol) = terms[index], let comparison = NumericComparison(rawValue: symbol) else {
                        let known = NumericComparison.allCases.map(\.rawValue).joined(separator: " ")
                        throw EventPatternError(path: path, message: "\"numeric\" operators are \(known)")
                    }
                    guard case .number(let bound) = terms[index + 1] else {
                        throw EventPatternError(path: path, message: "\"numeric\" compares with numbers, not \(terms[index + 1].kindName)")
                    }
                    bounds.append((comparison, bound))
                }
                return .numeric(bounds)
            case "exists":
                guard case .bool(let flag) = argument else {
                    throw EventPatternError(path: path, message: "\"exists\" takes true or false")
                }
                return .exists(flag)
            default:
                throw EventPatternError(
                    path: path,
                    message: "unknown matcher \"\(name)\"; use a value, prefix, suffix, equals-ignore-case, anything-but, numeric or exists")
            }
        }
    }

    /// Whether the field's value (nil when the field is missing) matches. A field holding an
    /// array matches when any of its elements does.
    func matches(_ value: JSONValue?) -> Bool {
        if case .exists(let flag) = self { return (value != nil) == flag }
        guard let value else { return false }
        if case .array(let elements) = value {
            if case .anythingBut = self { return elements.allSatisfy { matchesScalar($0) } && !elements.isEmpty }
            return elements.contains { matchesScalar($0) }
        }
        return matchesScalar(value)
    }

    private func matchesScalar(_ value: JSONValue) -> Bool {
        switch self {
        case .equals(let expected):
            return expected == value
        case .prefix(let text):
            return value.stringValue?.hasPrefix(text) ?? false
        case .suffix(let text):
            return value.stringValue?.hasSuffix(text) ?? false
        case .equalsIgnoringCase(let text):
            return value.stringValue.map { $0.lowercased() == text.lowercased() } ?? false
        case .anythingBut(let excluded):
            return !excluded.contains { $0.matchesScalar(value) }
        case .numeric(let bounds):
            guard case .number(let number) = value else { return false }
            return bounds.allSatisfy { comparison, bound in
                switch comparison {
                case .equal: number == bound
                case .less: number < bound
                case .lessOrEqual: number <= bound
                case .greater: number > bound
                case .greaterOrEqual: number >= bound
                }
            }
        case .exists:
            return true
        }
    }

    public static func == (lhs: ValueMatcher, rhs: ValueMatcher) -> Bool {
        switch (lhs, rhs) {
        case (.equals(let a), .equals(let b)): a == b
        case (.prefix(let a), .prefix(let b)), (.suffix(let a), .suffix(let b)), (.equalsIgnoringCase(let a), .equalsIgnoringCase(let b)): a == b
        case (.anythingBut(let a), .anythingBut(let b)): a == b
        case (.numeric(let a), .numeric(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.exists(let a), .exists(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .equals(let value): hasher.combine(0); hasher.combine(value)
        case .prefix(let text): hasher.combine(1); hasher.combine(text)
        case .suffix(let text): hasher.combine(2); hasher.combine(text)
        case .equalsIgnoringCase(let text): hasher.combine(3); hasher.combine(text)
        case .anythingBut(let matchers): hasher.combine(4); hasher.combine(matchers)
        case .numeric(let bounds):
            hasher.combine(5)
            for (comparison, bound) in bounds { hasher.combine(comparison); hasher.combine(bound) }
        case .exists(let flag): hasher.combine(6); hasher.combine(flag)
        }
    }
}
