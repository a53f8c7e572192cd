import Foundation
import NIOCore
import Testing

@testable import ShardFlowRuntime

@Suite("Local source records")
struct RecordSourceTests {
    @Test("a file yields records, blank lines, and invalid lines with their line numbers and reasons")
    func fileSource() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("""
            {"partitionKey":"a","data":"aGVsbG8="}

            {"partitionKey":"b","data":"***"}
            {"data":"aGk="}
            {"partitionKey":"c\\u00e9","data":"aGk=","extra":[1,2]}
            not json
            """, to: "in.jsonl")
        var source = try FileRecordSource(path: path)
        var seen: [String] = []
        while let item = try source.next() {
            switch item {
            case .record(let record):
                guard case .base64(let text) = record.data else { continue }
                seen.append("\(record.lineNumber):\(String(decoding: record.partitionKey, as: UTF8.self)):\(String(decoding: text, as: UTF8.self))")
            case .invalid(let line, let reason):
                seen.append("\(line)! \(reason)")
            case .blank:
                seen.append("blank")
            }
        }
        #expect(seen == [
            "1:a:aGVsbG8=",
            "blank",
            "3! \"data\" is not base64: base64 length 3 is not a multiple of 4 at offset 3",
            "4! missing or empty \"partitionKey\"",
            "5:cé:aGk=",
            "6! invalid JSON: expected '{' at byte 0",
        ])
        #expect(throws: ConfigurationError.self) { try FileRecordSource(path: directory.path + "/missing.jsonl") }
    }

    @Test("generated records are deterministic, sized, keyed and distinct")
    func generated() throws {
        var first = GeneratedRecordSource(count: 5, size: 80, keys: 2)
        var second = GeneratedRecordSource(count: 5, size: 80, keys: 2)
        var records: [SourceRecord] = []
        while case .record(let record)? = try first.next() {
            guard case .record(let again)? = try second.next() else { break }
            #expect(again.partitionKey == record.partitionKey && again.lineNumber == record.lineNumber)
            records.append(record)
        }
        #expect(records.count == 5)
        #expect(records.map { String(decoding: $0.partitionKey, as: UTF8.self) } == ["key-0", "key-1", "key-0", "key-1", "key-0"])
        for (index, record) in records.enumerated() {
            guard case .base64(let text) = record.data else {
                Issue.record("not base64")
                continue
            }
            let data = try Base64.decode(text)
            #expect(data.count == 80)
            let object = try JSONSerialization.jsonObject(with: Data(data)) as! [String: Any]
            #expect(Int(object["id"] as! String) == index)
        }
    }

    @Test("sequence numbers encode shard and line in 56 digits and grow along the file")
    func sequenceNumbers() {
        let number = SourcePump.sequenceNumber(shard: 3, line: 1234)
        #expect(number.count == 56 && number.hasPrefix("49000003"))
        #expect(SourcePump.lineNumber(of: SequenceNumber(number)!) == 1234)
        #expect(SequenceNumber(SourcePump.sequenceNumber(shard: 3, line: 99))! < SequenceNumber(number)!)
    }
}
