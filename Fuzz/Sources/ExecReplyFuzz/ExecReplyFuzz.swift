import ShardFlowCore

/// `exec:` reply lines: a reply is an error or names only items of the batch.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = Array(UnsafeBufferPointer(start: data, count: size))
    if let failures = try? ExecReply.parse(line, itemCount: 10, batchId: 3), failures.keys.contains(where: { !(0..<10).contains($0) }) {
        fatalError("a reply named an item outside the batch: \(failures)")
    }
    return 0
}
