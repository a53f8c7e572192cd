import NIOCore
import ShardFlowCore

/// The strict JSON parser, canonical text and DynamoDB change reader. A document that parses
/// has canonical text that parses back to the same value and is its own canonical text; a number
/// keeps its value through its canonical text; reading a DynamoDB change never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    _ = try? DynamoDBChange(data: ByteBuffer(bytes: bytes))
    guard let value = try? JSONParser.parse(bytes) else { return 0 }
    let canonical = value.canonicalText
    guard let reparsed = try? JSONParser.parse(canonical) else {
        fatalError("canonical text does not parse: \(String(decoding: canonical, as: UTF8.self))")
    }
    if reparsed != value { fatalError("canonical text parses to another value: \(String(decoding: canonical, as: UTF8.self))") }
    if reparsed.canonicalText != canonical { fatalError("canonical text is not canonical: \(String(decoding: canonical, as: UTF8.self))") }
    if case .number(let number) = value {
        if JSONNumber(text: number.description) != number { fatalError("number \(number) changes through its text") }
        if number < number || !(number <= number) { fatalError("number \(number) does not compare equal to itself") }
    }
    return 0
}
