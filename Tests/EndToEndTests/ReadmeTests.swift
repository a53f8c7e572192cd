import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The README's Usage section, run as a reader would paste it.
extension EndToEnd {
    /// The commands of the `sh` code blocks between `start` and `end` in `text`: continuation
    /// lines joined, comment lines and trailing comments dropped.
    static func shellCommands(in text: String, from start: String, to end: String) -> [String] {
        guard let from = text.range(of: start), let to = text.range(of: end, range: from.upperBound..<text.endIndex) else { return [] }
        var commands: [String] = []
        var inBlock = false
        var current = ""
        for line in text[from.upperBound..<to.lowerBound].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inBlock = line == "```sh" && !inBlock
                continue
            }
            guard inBlock else { continue }
            var code = String(line)
            if let comment = code.range(of: "   #") { code = String(code[..<comment.lowerBound]) }
            code = code.trimmingCharacters(in: .whitespaces)
            if code.hasPrefix("#") || code.isEmpty { continue }
            if code.hasSuffix("\\") {
                current += code.dropLast() + " "
            } else {
                commands.append((current + code).replacingOccurrences(of: "  ", with: " "))
                current = ""
            }
        }
        return commands
    }

    @Test("every command in the README's Usage section works as written")
    func readmeUsage() throws {
        let harness = try Harness("readme")
        defer { harness.remove() }
        let readme = try String(contentsOfFile: Harness.repository + "/README.md", encoding: .utf8)
        let commands = Self.shellCommands(in: readme, from: "## Usage", to: "## Guarantees")
        try #require(commands.count >= 6, "\(commands)")
        // A reader's checkout: the samples and examples next to them.
        for folder in ["samples", "Examples"] {
            try FileManager.default.createSymbolicLink(atPath: harness.path(folder), withDestinationPath: Harness.repository + "/" + folder)
        }
        let environment = ["PATH": Harness.binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
        for command in commands {
            if command.hasPrefix("shardflow systemd") {
                try checkSystemdCommand(command, harness: harness)
            } else if command.contains("kcl:") {
                try runWithStandInDaemon(command, harness: harness, environment: environment)
            } else {
                let result = try harness.run("/bin/bash", ["-c", command], environment: environment)
                #expect(result.status == 0, "README: `\(command)` exits \(result.status): \(result.stderr.suffix(2000))")
                #expect(result.stdout.contains("completed: every shard ended and every item was acknowledged"), "README: `\(command)`")
            }
        }
        // What the first example shows is what it does.
        #expect(try harness.outputItems(in: "my-output").count == 2484)
    }

    /// `shardflow run --source kcl:app.properties --kcl-classpath '/opt/amazon-kinesis-client/lib/*' …`
    /// with the stand-in daemon's jar in that directory (an overlay on /opt) and the output
    /// directory on tmpfs, in a mount namespace of its own (the host's /opt and /var/lib are
    /// untouched).
    private func runWithStandInDaemon(_ command: String, harness: Harness, environment: [String: String]) throws {
        guard getuid() == 0 else {
            print("NOTE: README: `\(command)` needs root for a private mount namespace; not run")
            return
        }
        let classes = harness.path("classes")
        try FileManager.default.createDirectory(atPath: classes, withIntermediateDirectories: true)
        let javac = try harness.run("/usr/bin/env", ["javac", "-d", classes, Harness.fixtures + "/standin-daemon/MultiLangDaemon.java"])
        try #require(javac.status == 0, "javac: \(javac.stderr)")
        let jar = try harness.run("/usr/bin/env", ["jar", "cf", harness.path("standin-daemon.jar"), "-C", classes, "."])
        try #require(jar.status == 0, "jar: \(jar.stderr)")
        try """
            streamName = orders
            applicationName = orders-app
            regionName = us-east-1
            standIn.driver = \(Harness.fixtures)/mld_driver.py
            standIn.records = 500

            """.write(toFile: harness.path("app.properties"), atomically: true, encoding: .utf8)
        let script = """
            set -e
            mkdir -p \(harness.path("opt-upper")) \(harness.path("opt-work"))
            mount -t overlay readme-opt -o lowerdir=/opt,upperdir=\(harness.path("opt-upper")),workdir=\(harness.path("opt-work")) /opt
            mkdir -p /opt/amazon-kinesis-client/lib
            cp \(harness.path("standin-daemon.jar")) /opt/amazon-kinesis-client/lib/
            mount -t tmpfs readme-var-lib /var/lib
            cd \(harness.directory)
            \(command) --no-progress
            python3 -c 'import glob; print("items", sum(1 for f in glob.glob("/var/lib/orders/reducer-*.jsonl") for _ in open(f)))'
            """
        let result = try harness.run("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/bash", "-c", script], environment: environment)
        #expect(result.status == 0, "README: `\(command)` exits \(result.status): \(result.stderr.suffix(2000))")
        #expect(result.stdout.contains("items 500\n"), "README: `\(command)`: \(result.stdout.suffix(1500))")
    }

    /// The systemd commands write to /etc: the real-systemd test runs the documented install in a
    /// container; here each README line must be that install line, or run cleanly as a dry run
    /// against an installed tree.
    private func checkSystemdCommand(_ command: String, harness: Harness) throws {
        let docs = try String(contentsOfFile: Harness.repository + "/docs/operations.md", encoding: .utf8)
        let documented = Self.codeBlock(after: "### Install", in: docs).first { $0.hasPrefix("shardflow systemd install") }
            .map { $0.components(separatedBy: "   #").first!.trimmingCharacters(in: .whitespaces) }
        if command.hasPrefix("shardflow systemd install") {
            #expect(command == documented, "README's install line is the one docs/operations.md gives (and the real-systemd test runs)")
            return
        }
        let root = harness.path("systemd-root")
        if !FileManager.default.fileExists(atPath: root) {
            let arguments = Array(documented!.split(separator: " ").dropFirst().map(String.init).dropLast(2)) + ["--prefix", root]
            let installed = try harness.run(Harness.binDirectory + "/shardflow", arguments)
            try #require(installed.status == 0, "\(installed.stderr)")
        }
        let arguments = command.split(separator: " ").dropFirst().map(String.init) + ["--dry-run", "--root", root]
        let result = try harness.run(Harness.binDirectory + "/shardflow", arguments)
        #expect(result.status == 0 && result.stdout.contains("# dry run: nothing was changed"), "README: `\(command)`: \(result.stderr)")
    }
}
