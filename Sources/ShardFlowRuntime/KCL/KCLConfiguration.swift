/// How to run the Java KCL MultiLangDaemon.
public struct KCLConfiguration: Sendable, Hashable {
    /// The `java` executable.
    public var java = "java"
    /// The daemon's classpath (the KCL multilang jars and their dependencies).
    public var classpath: String?
    /// KCL 2.x/3.x; use `com.amazonaws.services.kinesis.multilang.MultiLangDaemon` for 1.x, or
    /// `com.amazonaws.services.dynamodbv2.streamsadapter.StreamsMultiLangDaemon` for DynamoDB
    /// Streams.
    public var mainClass = "software.amazon.kinesis.multilang.MultiLangDaemon"

    public init() {}
}
