import Foundation
import ShardFlowCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built ShardFlow executables in a temporary directory.
struct Harness {
    /// Where `swift build` put the executables: next to the test bundle.
    static let binDirectory: String = {
        if let explicit = ProcessInfo.processInfo.environment["SHARDFLOW_BIN_DIR"] { return explicit }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }()

    /// The repository root (for fixtures and samples).
    static let repository: String = {
        var path = #filePath
        for _ in 0..<4 { path = (path as NSString).deletingLastPathComponent }
        return path
    }()

    static var fixtures: String { repository + "/Tests/EndToEndTests/Fixtures" }

    /// The unpacked amazon-kclpy sdist (scripts/test.sh downloads it).
    static var kclpyDirectory: String {
        ProcessInfo.processInfo.environment["SHARDFLOW_KCLPY_DIR"] ?? repository + "/.tools/amazon_kclpy-3.2.0"
    }

    let directory: String

    init(_ name: String) throws {
        let base = ProcessInfo.processInfo.environment["SHARDFLOW_TEST_TMP"] ?? NSTemporaryDirectory()
        directory = base + "/shardflow-e2e-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func path(_ relative: String) -> String { directory + "/" + relative }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `shardflow run` with these arguments (and a short runtime directory).
    /// Foundation's `Process` makes each child a process group leader, so the launcher and every
    /// process it starts can be killed together with `kill(-pid, …)`.
    func launch(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 240) throws -> Result {
        try run(Harness.binDirectory + "/shardflow", launchArguments(arguments), environment: environment, timeout: timeout)
    }

    func launchArguments(_ arguments: [String], progress: Bool = false) -> [String] {
        ["run", "--runtime-dir", runtimeDirectory] + (progress ? ["--progress-interval", "100ms"] : ["--no-progress"]) + arguments
    }

    /// Starts `shardflow run` in its own process group and returns at once; with progress
    /// lines every 100 ms, which ``Running/waitForOutput(_:timeout:)`` can wait for; from
    /// `launcher` when given (a copy of the built `shardflow`, say).
    func start(_ arguments: [String], environment: [String: String] = [:], launcher: String? = nil) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: launcher ?? Harness.binDirectory + "/shardflow")
        process.arguments = launchArguments(arguments, progress: true)
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let collector = OutputCollector(output: output, errors: errors)
        try process.run()
        return Running(process: process, collector: collector)
    }

    /// A launcher running in the background.
    struct Running {
        let process: Process
        let collector: OutputCollector

        /// SIGKILL to the launcher's whole process group: every ShardFlow process dies at once;
        /// returns once each of them has exited.
        func killGroup() -> (String, String) {
            ProcessEvents.killGroup(process.processIdentifier)
            process.waitUntilExit()
            return collector.finish()
        }

        /// Waits until stdout contains `text`.
        func waitForOutput(_ text: String, timeout: TimeInterval = 60) -> Bool {
            collector.waitForStdout(timeout: timeout) { $0.contains(text) }
        }

        /// Waits until stderr contains `text`.
        func waitForLog(_ text: String, timeout: TimeInterval = 60) -> Bool {
            collector.waitForStderr(timeout: timeout) { $0.contains(text) }
        }

        /// The worker command a `--source none` group prints (`executableName = …`), split on
        /// spaces; empty if it never did.
        func workerCommand(timeout: TimeInterval = 60) -> [String] {
            var command: [String] = []
            _ = collector.waitForStdout(timeout: timeout) { output in
                guard let line = output.split(separator: "\n").first(where: { $0.contains("executableName = ") }) else { return false }
                command = line.components(separatedBy: "executableName = ")[1].split(separator: " ").map(String.init)
                return true
            }
            return command
        }

        func wait() -> Result {
            process.waitUntilExit()
            let (stdout, stderr) = collector.finish()
            return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
        }
    }

    /// A socket directory with a short path (socket paths are limited to 107 bytes).
    var runtimeDirectory: String { "/tmp/sf-\(abs(directory.hashValue) % 1_000_000_007)" }

    /// Runs a program to completion, collecting its output.
    func run(_ program: String, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 240) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let collected = OutputCollector(output: output, errors: errors)
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            kill(-process.processIdentifier, SIGKILL)
            process.terminate()
            process.waitUntilExit()
            let (stdout, stderr) = collected.finish()
            Issue.record("\(program) \(arguments) timed out after \(timeout)s\nstdout: \(stdout.suffix(3000))\nstderr: \(stderr.suffix(3000))")
            return Result(status: -1, stdout: stdout, stderr: stderr)
        }
        process.waitUntilExit()
        let (stdout, stderr) = collected.finish()
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// Runs a Python script from the fixtures.
    func python(_ script: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try run("/usr/bin/env", ["python3", Harness.fixtures + "/" + script] + arguments, environment: environment)
    }

    // MARK: Inputs and outputs

    /// Writes JSON-lines records `{"partitionKey","data"}`.
    func writeRecords(_ records: [(key: String, data: [UInt8])], to name: String) throws {
        var text = ""
        for record in records {
            text += #"{"partitionKey":"\#(record.key)","data":"\#(Data(record.data).base64EncodedString())"}"# + "\n"
        }
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    /// One item of a reducer's jsonl output.
    struct Item: Hashable {
        var stream: String
        var shardId: String
        var sequenceNumber: String
        var subSequenceNumber: Int?
        var itemIndex: Int
        var itemCount: Int
        var partitionKey: String?
        var key: String
        var data: [UInt8]
        var file: String
    }

    /// Every item in `directory/reducer-*.jsonl`.
    func outputItems(in name: String) throws -> [Item] {
        try Harness.outputItems(atPath: path(name))
    }

    /// Every item in `folder/reducer-*.jsonl`.
    static func outputItems(atPath folder: String) throws -> [Item] {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var items: [Item] = []
        for file in files.sorted() where file.hasPrefix("reducer-") && file.hasSuffix(".jsonl") {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") where !line.isEmpty {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                items.append(Item(
                    stream: object["stream"] as! String,
                    shardId: object["shardId"] as! String,
                    sequenceNumber: object["sequenceNumber"] as! String,
                    subSequenceNumber: object["subSequenceNumber"] as? Int,
                    itemIndex: object["itemIndex"] as! Int,
                    itemCount: object["itemCount"] as! Int,
                    partitionKey: object["partitionKey"] as? String,
                    key: object["key"] as! String,
                    data: [UInt8](Data(base64Encoded: object["data"] as! String)!),
                    file: file))
            }
        }
        return items
    }

    /// Every object of `directory/reducer-*.jsonl`, with its file, in file and line order.
    func outputObjects(in name: String) throws -> [(file: String, object: [String: Any])] {
        let folder = path(name)
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var objects: [(file: String, object: [String: Any])] = []
        for file in files.sorted() where file.hasPrefix("reducer-") && file.hasSuffix(".jsonl") {
            for line in try String(contentsOfFile: folder + "/" + file, encoding: .utf8).split(separator: "\n") where !line.isEmpty {
                objects.append((file, try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]))
            }
        }
        return objects
    }

    /// The checkpoints of `stream` (a file source's default name is its file's: `input`).
    func checkpoints(in state: String, stream: String = "input") throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(state + "/" + stream + "/checkpoints.json")))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        return object.mapValues { $0["sequenceNumber"] as! String }
    }

    /// Records with `keys` distinct partition keys; data is a small JSON document naming the
    /// record (so every record is unique).
    static func sampleRecords(count: Int, keys: Int) -> [(key: String, data: [UInt8])] {
        (0..<count).map { n in
            let key = "key-\(n % keys)"
            return (key, Array(#"{"n":\#(n),"user":{"id":"u\#(n % 37)"},"note":"record \#(n)"}"#.utf8))
        }
    }
}
