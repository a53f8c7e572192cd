import Foundation
import ShardFlowCore
import Testing

/// One set of defaults: what the code has (`ProcessingDefaults`) is what every executable's
/// `--help`, the systemd configuration and the docs say.
extension EndToEnd {
    /// The defaults in the code, by option.
    static let codeDefaults: [String: String] = [
        "--batch-size": String(ProcessingDefaults.batchSize),
        "--batch-timeout": milliseconds(ProcessingDefaults.batchTimeout.nanoseconds),
        "--max-pending": String(ProcessingDefaults.maxPending),
        "--checkpoint-interval": milliseconds(ProcessingDefaults.checkpointInterval.nanoseconds),
        "--retry-delay": milliseconds(ProcessingDefaults.retryDelay.nanoseconds),
        "--max-retry-delay": milliseconds(ProcessingDefaults.maxRetryDelay.nanoseconds),
        "--processor-timeout": milliseconds(ProcessingDefaults.processorTimeout.nanoseconds),
        "--drain-timeout": milliseconds(ProcessingDefaults.drainTimeout.nanoseconds),
        "--shutdown-timeout": milliseconds(ProcessingDefaults.shutdownTimeout.nanoseconds),
        "--stuck-after": milliseconds(ProcessingDefaults.stuckAfter.nanoseconds),
    ]

    static func milliseconds(_ nanoseconds: Int64) -> String { "\(nanoseconds / 1_000_000)ms" }

    /// `20ms`, `5s`, `1m`, `60 s` → milliseconds as `NNNms`; other values unchanged.
    static func normalized(_ value: String) -> String {
        let text = value.replacingOccurrences(of: " ", with: "")
        for (suffix, factor) in [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)] where text.hasSuffix(suffix) {
            if let number = Int(text.dropLast(suffix.count)) { return "\(number * factor)ms" }
        }
        return text
    }

    /// Option → default, from a `--help` text ("(default: X)" at the end of an option's entry).
    static func helpDefaults(_ help: String) -> [String: String] {
        var entries: [(String, String)] = []
        for line in help.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            if line.hasPrefix("  --"), let name = trimmed.split(separator: " ").first {
                entries.append((String(name), String(trimmed)))
            } else if !entries.isEmpty, line.hasPrefix("    ") {
                entries[entries.count - 1].1 += " " + trimmed
            }
        }
        var defaults: [String: String] = [:]
        for (name, text) in entries {
            guard let range = text.range(of: "default: ", options: .backwards) else { continue }
            let value = text[range.upperBound...].prefix { $0 != ")" && $0 != ";" }
            defaults[name] = String(value)
        }
        return defaults
    }

    @Test("every default the code has is the one the executables' help, the systemd configuration and the docs state")
    func oneSetOfDefaults() throws {
        let harness = try Harness("defaults")
        defer { harness.remove() }
        var helps: [String: [String: String]] = [:]
        for (program, arguments) in [("shardflow", ["run", "--help"]), ("shardflow-reducer", ["--help"]), ("shardflow-worker", ["--help"]),
                                     ("shardflow", ["systemd", "install", "--help"])] {
            let help = try harness.run(Harness.binDirectory + "/" + program, arguments)
            helps["\(program) \(arguments.joined(separator: " "))"] = Self.helpDefaults(help.stdout)
        }
        let runHelp = try #require(helps["shardflow run --help"])
        for (option, expected) in Self.codeDefaults where option != "--shutdown-timeout" {
            #expect(runHelp[option].map(Self.normalized) == expected, "shardflow run --help: \(option) \(runHelp[option] ?? "no default shown")")
        }
        // Every option of shardflow run shows its default, unless it has none to show.
        let noDefault: Set = ["--source", "--version", "--help", "--no-progress", "--reset"]
        let runText = try harness.run(Harness.binDirectory + "/shardflow", ["run", "--help"]).stdout
        for line in runText.split(separator: "\n") where line.hasPrefix("  --") {
            let name = String(line.drop { $0 == " " }.split(separator: " ").first!)
            #expect(noDefault.contains(name) || runHelp[name] != nil, "shardflow run --help: \(name) shows no default")
        }
        for (command, defaults) in helps where command != "shardflow run --help" {
            for (option, value) in defaults {
                if let expected = Self.codeDefaults[option] {
                    #expect(Self.normalized(value) == expected, "\(command): \(option) \(value), the code has \(expected)")
                }
            }
        }
        #expect(helps["shardflow-worker --help"]?["--checkpoint-interval"] != nil && helps["shardflow-reducer --help"]?["--batch-size"] != nil)

        // The systemd configuration passes the same values.
        let configuration = try String(contentsOfFile: Harness.repository + "/deploy/shardflow.conf", encoding: .utf8)
        for key in ["SHARDFLOW_REDUCER_OPTIONS", "SHARDFLOW_WORKER_OPTIONS"] {
            let line = try #require(configuration.split(separator: "\n").first { $0.hasPrefix(key + "=") })
            let words = line.dropFirst(key.count + 1).split(separator: " ").map(String.init)
            for (index, word) in words.enumerated() where index + 1 < words.count {
                if let expected = Self.codeDefaults[word] {
                    #expect(Self.normalized(words[index + 1]) == expected, "deploy/shardflow.conf \(key): \(word) \(words[index + 1])")
                }
            }
        }

        // docs/operations.md's table of `shardflow run` options.
        let docs = try String(contentsOfFile: Harness.repository + "/docs/operations.md", encoding: .utf8)
        var documented: [String: String] = [:]
        for line in docs.split(separator: "\n") where line.hasPrefix("| `--") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            let names = cells[0].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }
            let values = cells[1].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }
            guard names.count == values.count else { continue }
            for (name, value) in zip(names, values) { documented[name] = value }
        }
        for (option, expected) in Self.codeDefaults where option != "--shutdown-timeout" {
            #expect(documented[option].map(Self.normalized) == expected, "docs/operations.md: \(option) \(documented[option] ?? "not in the table")")
        }
        for (option, value) in [("--shards", "4"), ("--records-per-batch", "1000"), ("--restart-limit", "5"), ("--state", "shardflow-state")] {
            #expect(documented[option] == value && runHelp[option] == value, "\(option): docs \(documented[option] ?? "-"), help \(runHelp[option] ?? "-")")
        }
        let processors = try String(contentsOfFile: Harness.repository + "/docs/processors.md", encoding: .utf8)
        #expect(processors.contains("`--batch-size` (default \(ProcessingDefaults.batchSize))"))
        #expect(processors.contains("`--processor-timeout` (\(ProcessingDefaults.processorTimeout.nanoseconds / 1_000_000_000) s)"))
    }
}
