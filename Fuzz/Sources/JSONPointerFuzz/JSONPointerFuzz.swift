import NIOCore
import ShardFlowCore

/// The JSON scanner and `json:` pointers. Input: a pointer, a newline, a document. Selecting
/// never fails other than with an error; a selected non-string value is itself valid JSON.
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
    if case .success(let value) = pointer.select(in: document), value.readableBytes > 0, value.getInteger(at: value.readerIndex, as: UInt8.self) != UInt8(ascii: "\"") {
        let whole = value.readableBytesView.first.map { [UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "-")].contains($0) || ($0 >= 0x30 && $0 <= 0x39) } ?? false
        if whole {
            let ok = value.withUnsafeReadableBytes { raw -> Bool in
                var scanner = JSONScanner(raw)
                return (try? scanner.skipValue()) != nil
            }
            if !ok { fatalError("a selected value is not JSON: \(String(buffer: value))") }
        }
    }
    return 0
}
