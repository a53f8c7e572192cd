import ArgumentParser

/// How an `exec:` processor's child gets its batches and answers (`--exec-format`).
public enum ExecFormat: String, Sendable, Hashable, CaseIterable, ExpressibleByArgument {
    /// One JSON line per batch, `{"reducer", "batch", "items": [...]}`; the reply names failed
    /// items by their index in the batch (docs/processors.md).
    case native
    /// One JSON line per batch holding the event a Kinesis (or, with `--extract dynamodb`,
    /// DynamoDB Streams) Lambda function receives, `{"Records": [...]}`; the reply is Lambda's
    /// partial batch response, `{"batchItemFailures": [{"itemIdentifier": SEQUENCE_NUMBER}]}`.
    case lambda
}
