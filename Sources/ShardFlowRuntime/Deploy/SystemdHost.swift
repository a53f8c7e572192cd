#if canImport(Glibc)
import Glibc
#endif

/// An installed ShardFlow group on this host, as `shardflow systemd scale` and `remove` see it:
/// the instances enabled into `shardflow.target`, the configuration file, and `systemctl`.
struct SystemdHost {
    /// The installation root (`/`; tests point it elsewhere).
    var root = "/"
    var configurationPath = "/etc/shardflow/shardflow.conf"
    /// Print the commands instead of running them.
    var dryRun = false

    var unitDirectory: String { SystemdCommand.join(root, "/etc/systemd/system") }

    /// The units enabled into `shardflow.target` (its `.wants` directory), sorted.
    func enabledUnits() -> [String] {
        let directory = unitDirectory + "/shardflow.target.wants"
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("shardflow") { names.append(name) }
        }
        return names.sorted()
    }

    /// Instance numbers of an enabled template (`shardflow-reducer@`, `.socket`).
    func enabledInstances(_ template: String, suffix: String) -> [Int] {
        enabledUnits().compactMap { name in
            guard name.hasPrefix(template), name.hasSuffix(suffix) else { return nil }
            return Int(name.dropFirst(template.count).dropLast(suffix.count))
        }.sorted()
    }

    func readConfiguration() throws -> String {
        let path = SystemdCommand.join(root, configurationPath)
        guard let bytes = try CheckpointStore.readFile(path) else {
            throw ConfigurationError("\(path) does not exist: install the group first (shardflow systemd install --prefix /)")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func writeConfiguration(_ text: String) throws {
        let path = SystemdCommand.join(root, configurationPath)
        if dryRun {
            print("# would rewrite \(path)")
            return
        }
        try SystemdCommand.write(text, to: path, mode: 0o640)
        print("rewrote \(path)")
    }

    /// Runs `command` (printing it first), or only prints it when dry.
    func run(_ command: [String], mayFail: Bool = false) throws {
        print(command.map { $0.contains(" ") || $0.contains("*") ? "'\($0)'" : $0 }.joined(separator: " "))
        guard !dryRun else { return }
        let child = try ChildProcess.spawn(command, environment: [:], stdin: .null, stdout: .inherit, stderr: .inherit)
        let (termination, _) = child.wait()
        if !termination.isSuccess, !mayFail {
            throw ConfigurationError("\(command.joined(separator: " ")) \(termination)")
        }
    }

    /// Removes a file or a directory tree (printing it), when it exists.
    func remove(_ path: String) throws {
        let full = SystemdCommand.join(root, path)
        var info = stat()
        guard lstat(full, &info) == 0 else { return }
        try run(["rm", "-rf", full])
    }
}

extension String {
    /// The value of `KEY=` in a configuration file's text.
    func configurationValue(_ key: String) -> String? {
        split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    /// The text with the line `KEY=…` set to `KEY=value` (appended when there is none).
    func settingConfigurationValue(_ key: String, to value: String) -> String {
        var lines = split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let index = lines.firstIndex(where: { $0.hasPrefix(key + "=") }) {
            lines[index] = "\(key)=\(value)"
        } else {
            if lines.last == "" { lines.removeLast() }
            lines.append("\(key)=\(value)")
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}
