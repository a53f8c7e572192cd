import Testing

@testable import ShardFlowRuntime

@Suite("Stream sources (--source)")
struct StreamSourceTests {
    @Test("[NAME=]source parses; names default to the file's or stream's name")
    func parsing() throws {
        #expect(StreamSource(argument: "orders=file:data/o.jsonl") == StreamSource(name: "orders", specification: .file(path: "data/o.jsonl")))
        #expect(StreamSource(argument: "file:a=b.jsonl") == StreamSource(name: nil, specification: .file(path: "a=b.jsonl")))
        #expect(StreamSource(argument: "bad name=file:x") == nil)
        #expect(StreamSource(argument: "x=none") == nil, "none takes no name")
        #expect(try StreamSource(argument: "file:/tmp/in/orders.2026.jsonl")!.resolvingName().stream == "orders")
        #expect(try StreamSource(argument: "generate:10")!.resolvingName().stream == "generated")
        #expect(StreamSource.streamName(fromNameOrARN: "arn:aws:kinesis:us-east-1:123:stream/clicks") == "clicks")
        #expect(StreamSource.streamName(fromNameOrARN: "arn:aws:dynamodb:us-east-1:123:table/Orders/stream/2026-01-01T00:00:00.000") == "Orders")
        #expect(StreamSource.sanitized("my stream!") == "my_stream_")
        #expect(!StreamSource.isValidName("..") && !StreamSource.isValidName("") && StreamSource.isValidName("a.b_c-1"))
    }
}
