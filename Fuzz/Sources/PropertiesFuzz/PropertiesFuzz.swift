import ShardFlowCore

/// KCL properties files: every entry has a configuration key and lines inside the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let entries = try? JavaProperties.parse(bytes) else { return 0 }
    let lines = bytes.filter { $0 == 0x0A || $0 == 0x0D }.count + 1
    for entry in entries where entry.key.isEmpty || entry.lines.lowerBound < 1 || entry.lines.upperBound > lines {
        fatalError("entry \(entry) out of the file's \(lines) lines")
    }
    return 0
}
