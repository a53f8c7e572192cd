/// How to run the Java KCL MultiLangDaemon.
public struct KCLConfiguration: Sendable, Hashable {
    /// The `java` executable.
    public var java = "java"
    /// The daemon's classpath (the KCL multilang jars and their dependencies).
    public var classpath: String?
    /// KCL 2.x/3.x; use `com.amazonaws.services.kinesis.multilang.MultiLangDaemon` for 1.x, or
    /// `com.amazonaws.services.dynamodbv2.streamsadapter.StreamsMultiLangDaemon` for DynamoDB
    /// Streams.
    public var mainClass = KCLConfiguration.kinesisMainClass

    /// The MultiLangDaemon of KCL 2.x and 3.x, for Kinesis streams.
    public static let kinesisMainClass = "software.amazon.kinesis.multilang.MultiLangDaemon"
    /// The DynamoDB Streams Kinesis adapter's daemon (adapter 1.x, on KCL 1.x).
    public static let dynamoDBMainClass = "com.amazonaws.services.dynamodbv2.streamsadapter.StreamsMultiLangDaemon"

    /// The daemon for records extracted this way: DynamoDB Streams changes come through the
    /// adapter's daemon, anything else through the Kinesis one.
    public static func mainClass(for mode: Extractor.Mode) -> String {
        mode == .dynamodb ? dynamoDBMainClass : kinesisMainClass
    }

    public init() {}
}
