import ShardFlowCore

/// `--filter` patterns. Input: a pattern, a newline, an event. Parsing a pattern either gives a
/// pattern or an error naming where; matching any strict JSON event never traps, and gives the
/// same answer for the event's canonical text (matching depends on values, not spelling).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let split = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
    let pattern: EventPattern
    do {
        pattern = try EventPattern(String(decoding: bytes[..<split], as: UTF8.self))
    } catch {
        if error.message.isEmpty { fatalError("a pattern error without a reason") }
        return 0
    }
    guard let event = try? JSONParser.parse(bytes[min(split + 1, bytes.count)...]) else { return 0 }
    let answer = pattern.matches(event)
    guard let canonical = try? JSONParser.parse(event.canonicalText) else { fatalError("canonical event does not parse") }
    if pattern.matches(canonical) != answer { fatalError("the match changes with the event's spelling") }
    return 0
}
