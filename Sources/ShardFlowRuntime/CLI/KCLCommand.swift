import ArgumentParser
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `shardflow kcl`: runs the Java KCL MultiLangDaemon for this host's group — writes the
/// user's properties plus the ones the workers need, then becomes java (exec).
public struct KCLCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "kcl",
        abstract: "Run the Java KCL MultiLangDaemon with shardflow-worker as its executable.",
        discussion: """
            Writes PROPERTIES plus executableName (the worker, pointed at this group's router), \
            callProcessRecordsEvenForEmptyRecordList = true and a non-zero shutdownGraceMillis \
            to --output, then execs `java -cp CLASSPATH MAIN-CLASS OUTPUT`. Arguments after the \
            options are passed to every worker (for example --checkpoint-interval 10s).
            """
    )

    @Option(help: ArgumentHelp("Your KCL properties file.", valueName: "path"))
    var properties: String

    @Option(help: ArgumentHelp("The stream's name, which every item carries to the processor (default: the stream the properties name).", valueName: "name"))
    var stream: String?

    @Option(help: ArgumentHelp("The KCL multilang classpath.", valueName: "classpath"))
    var kclClasspath: String

    @Option(help: ArgumentHelp("The java executable.", valueName: "path"))
    var java: String = "java"

    @Option(help: ArgumentHelp(
        "The daemon's main class (\(KCLConfiguration.kinesisMainClass) for Kinesis, \(KCLConfiguration.dynamoDBMainClass) for DynamoDB Streams).",
        valueName: "class"))
    var kclMainClass: String = KCLConfiguration().mainClass

    @Option(help: ArgumentHelp("Socket directory of the group.", valueName: "dir"))
    var runtimeDir: String?

    @Option(parsing: .unconditional, help: "Routers of the group.")
    var routers: Int = 1

    @Option(help: "Log level of the workers.")
    var logLevel: String = "info"

    @Option(help: ArgumentHelp("Where to write the merged properties (default: shardflow-kcl-<stream>.properties in $STATE_DIRECTORY, else the runtime directory).", valueName: "path"))
    var output: String?

    @Argument(parsing: .allUnrecognized, help: "Options for every worker.")
    var workerOptions: [String] = []

    public init() {}

    public func validate() throws {
        guard runtimeDir ?? RuntimeDirectory.defaultPath != nil else { throw ValidationError(RuntimeDirectory.noDefaultMessage) }
        if let stream, !StreamSource.isValidName(stream) {
            throw ValidationError("--stream \(stream): a stream name is 1 to 128 letters, digits, '.', '_' or '-'")
        }
    }

    public func run() throws {
        let runtimeDir = self.runtimeDir ?? RuntimeDirectory.defaultPath!
        let stream = try self.stream ?? StreamSource(name: nil, specification: .kcl(properties: properties)).resolvingName().stream
        let worker = [RunOptions.ownDirectory + "/shardflow-worker", "--runtime-dir", runtimeDir, "--routers", String(routers),
                      "--log-level", logLevel, "--stream", stream] + workerOptions
        let directory = output.map { String($0[..<($0.lastIndex(of: "/") ?? $0.startIndex)]) }
            ?? RuntimeDirectory.environment("STATE_DIRECTORY")?.split(separator: ":").first.map(String.init) ?? runtimeDir
        try RuntimeDirectory.makeDirectories(directory, mode: 0o750)
        let written = try KCLProperties.write(
            userProperties: properties, workerCommand: worker, directory: directory,
            name: output.map { String($0.split(separator: "/").last!) } ?? "shardflow-kcl-\(stream).properties")
        let arguments = [java, "-cp", kclClasspath, kclMainClass, written]
        // java gets default signal handling, whatever this process inherited.
        var signals = sigset_t()
        sigemptyset(&signals)
        pthread_sigmask(SIG_SETMASK, &signals, nil)
        let argv = arguments.map { strdup($0) } + [nil]
        execvp(java, argv)
        throw ConfigurationError("cannot run \(java): \(String(cString: strerror(errno))) (set --java or SHARDFLOW_JAVA)")
    }
}
