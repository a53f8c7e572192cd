/// A string inside the scanned bytes: its range (between the quotes) and whether it contains
/// escapes that must be resolved before use.
public struct JSONStringRef: Hashable, Sendable {
    public var range: Range<Int>
    public var hasEscapes: Bool
}
