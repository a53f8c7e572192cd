import NIOCore
import ShardFlowCore

/// The JSON scanner and `json:` pointers. Input: a pointer, a newline, a document. Selecting
/// never fails other than with an error; when the selected value is strict JSON, a string
/// selects its text and any other value its canonical text, which parses back to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let split = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
    let document = ByteBuffer(bytes: bytes[min(split + 1, bytes.count)...])
    bytes.withUnsafeBytes { raw in
        var scanner = JSONScanner(UnsafeRawBufferPointer(rebasing: raw[min(split + 1, raw.count)...]))
        _ = try? scanner.skipValue()
    }
    guard let pointer = JSONPointer(String(decoding: bytes[..<split], as: UTF8.self)) else { return 0 }
    let selected = pointer.select(in: document)
    guard case .success(let value) = pointer.value(in: document) else { return 0 }
    guard case .success(let key) = selected else { fatalError("the value parses but selecting its key failed: \(selected)") }
    let keyBytes = Array(key.readableBytesView)
    if case .string(let text) = value {
        if keyBytes != Array(text.utf8) { fatalError("a string selects \(keyBytes), not its text \(text)") }
    } else {
        if keyBytes != value.canonicalText { fatalError("a \(value.kindName) selects \(keyBytes), not its canonical text") }
        guard let reparsed = try? JSONParser.parse(keyBytes), reparsed == value else {
            fatalError("canonical text \(String(decoding: keyBytes, as: UTF8.self)) does not parse back to the value")
        }
    }
    return 0
}
