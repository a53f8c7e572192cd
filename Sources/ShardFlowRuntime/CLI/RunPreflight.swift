import NIOCore
import ShardFlowCore

#if canImport(Glibc)
import Glibc
#endif

/// What `shardflow run` checks before it starts any process: every file and directory the
/// options name, the KCL classpath and java, and a `--key` pointer against the first records of
/// each file source. Each problem names the option and its value; all of them are reported at
/// once (exit status 64), so a typo never surfaces as restarts after the group is up.
struct RunPreflight {
    private(set) var problems: [String] = []

    /// How many records of a file source a `json:` key must be tried on.
    static let keySampleRecords = 100

    /// The problems of `options` (already parsed, sources named).
    static func problems(of options: RunOptions) -> [String] {
        var preflight = RunPreflight()
        preflight.check(options)
        return preflight.problems
    }

    private mutating func check(_ options: RunOptions) {
        let local = options.input.source.filter(\.isLocal)
        for stream in options.input.source {
            switch stream.specification {
            case .file(let path):
                guard checkReadableFile(path, option: "--source \(stream.specification)") else { continue }
                // Only a regular file can be read twice: the first records of a pipe would be lost.
                var info = stat()
                if case .jsonPointer = options.processing.key, stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG { checkKey(options.processing.key, extract: options.processing.extract, in: path, option: "--source \(stream.specification)") }
            case .kcl(let properties):
                do {
                    _ = try KCLProperties.read(properties)
                } catch {
                    problems.append("--source \(stream.specification): \(error)")
                }
            case .generate, .none:
                break
            }
        }
        if options.input.source.contains(where: { if case .kcl = $0.specification { true } else { false } }) {
            if let classpath = options.input.kclClasspath { checkClasspath(classpath) }
            checkExecutable(options.input.java, option: "--java", hint: "install a Java runtime, or name it with --java PATH")
        }
        if local.isEmpty {
            // Options only the local source reads: refuse them rather than ignore them.
            let kind = options.input.source.first?.specification == SourceSpecification.none ? "--source none" : "kcl: sources"
            if options.input.shards != nil { problems.append("--shards applies to file: and generate: sources; \(kind) take their shards from the stream") }
            if options.input.recordsPerBatch != nil { problems.append("--records-per-batch applies to file: and generate: sources, not to \(kind) (the daemon's maxRecords sets it)") }
            if options.input.reset { problems.append("--reset applies to file: and generate: sources (their checkpoints are in --state); \(kind) keep theirs in the KCL lease table") }
        } else {
            checkWritableDirectory(options.input.state, option: "--state")
        }
        if case .jsonLines(let directory) = options.processing.processor {
            checkWritableDirectory(directory, option: "--processor jsonl:\(directory)")
            if options.input.reset, !local.isEmpty, let earlier = Self.outputFiles(in: directory).first {
                problems.append("""
                    --reset processes the sources again, but --processor jsonl:\(directory) already holds output (\(directory)/\(earlier)…), \
                    which a new run would append a second copy to: move or remove it, or name another directory
                    """)
            }
        }
        if case .exec(let command) = options.processing.processor, let program = command.split(separator: " ").first.map(String.init),
           !program.contains("="), !program.contains(where: { "$'\"`\\(){};&|<>".contains($0) }), !Self.shellWords.contains(program) {
            checkExecutable(program, option: "--processor exec:\(command)", hint: "name an executable (a path, or a program on PATH)")
        }
        if let deadLetter = options.processing.deadLetter { checkWritableDirectory(deadLetter, option: "--dead-letter") }
        if let statsJson = options.output.statsJson {
            let parent = statsJson.contains("/") ? String(statsJson[..<statsJson.lastIndex(of: "/")!]) : "."
            var info = stat()
            if stat(parent.isEmpty ? "/" : parent, &info) != 0 || info.st_mode & S_IFMT != S_IFDIR {
                problems.append("--stats-json \(statsJson): the directory \(parent) does not exist")
            } else {
                checkWritableDirectory(parent.isEmpty ? "/" : parent, option: "--stats-json \(statsJson): its directory")
            }
        }
    }

    /// Words `/bin/sh` runs itself: an `exec:` command starting with one is not checked.
    static let shellWords: Set<String> = ["cd", "exec", ".", "source", "export", "set", "ulimit", "umask", "eval", "if", "for", "while", "until", "case", "!", "time"]

    /// The reducers' output files already in a `jsonl:` directory.
    static func outputFiles(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("reducer-"), name.hasSuffix(".jsonl") { names.append(name) }
        }
        return names.sorted()
    }

    private mutating func checkReadableFile(_ path: String, option: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else {
            problems.append("\(option): cannot read \(path): \(String(cString: strerror(errno)))")
            return false
        }
        guard info.st_mode & S_IFMT == S_IFREG || info.st_mode & S_IFMT == S_IFIFO else {
            problems.append("\(option): \(path) is not a file")
            return false
        }
        guard access(path, R_OK) == 0 else {
            problems.append("\(option): cannot read \(path): \(String(cString: strerror(errno)))")
            return false
        }
        return true
    }

    /// `path` is a directory this user can create files in, or can be made one.
    mutating func checkWritableDirectory(_ path: String, option: String) {
        var candidate = path
        var info = stat()
        while stat(candidate, &info) != 0 {
            guard errno == ENOENT || errno == ENOTDIR else {
                problems.append("\(option): cannot use \(path): \(candidate): \(String(cString: strerror(errno)))")
                return
            }
            // The nearest ancestor that exists decides whether the directory can be made.
            guard let slash = candidate.lastIndex(of: "/") else { candidate = "."; continue }
            candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            problems.append(candidate == path
                ? "\(option): \(path) exists and is not a directory"
                : "\(option): cannot create \(path): \(candidate) is not a directory")
            return
        }
        // A real probe (a file made and removed at once): root passes every access() check,
        // but not a read-only or special file system.
        var template = Array("\(candidate)/.shardflow-probe-XXXXXX".utf8CString)
        let probe = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard probe >= 0 else {
            let reason = String(cString: strerror(errno))
            problems.append(candidate == path
                ? "\(option): cannot write in \(path): \(reason)"
                : "\(option): cannot create \(path): cannot write in \(candidate) (\(reason))")
            return
        }
        close(probe)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    }

    /// A program named by path, or found on PATH.
    private mutating func checkExecutable(_ program: String, option: String, hint: String) {
        if program.contains("/") {
            if access(program, X_OK) != 0 { problems.append("\(option): cannot run \(program): \(String(cString: strerror(errno))); \(hint)") }
            return
        }
        let path = RuntimeDirectory.environment("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
        if !path.split(separator: ":").contains(where: { access("\($0)/\(program)", X_OK) == 0 }) {
            problems.append("\(option): \(program) is not on PATH; \(hint)")
        }
    }

    /// The classpath names at least one jar or class directory that exists.
    private mutating func checkClasspath(_ classpath: String) {
        var found = false
        for entry in classpath.split(separator: ":").map(String.init) where !found {
            if entry.hasSuffix("/*") || entry == "*" {
                let directory = entry == "*" ? "." : String(entry.dropLast(2))
                guard let handle = opendir(directory.isEmpty ? "/" : directory) else { continue }
                while let item = readdir(handle) {
                    let name = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if name.lowercased().hasSuffix(".jar") { found = true; break }
                }
                closedir(handle)
            } else if access(entry, R_OK) == 0 {
                found = true
            }
        }
        if !found {
            problems.append("--kcl-classpath \(classpath) matches no jar: put the KCL multilang jars (amazon-kinesis-client-multilang and its dependencies) in a directory and name it as DIR/*")
        }
    }

    /// A `json:` key must be found in at least one item of the first records of the file.
    private mutating func checkKey(_ key: Extractor.KeySelector, extract: Extractor.Mode, in path: String, option: String) {
        guard var source = try? FileRecordSource(path: path) else { return }
        let extractor = Extractor(mode: extract, key: key)
        var tried = 0
        var lastError: String?
        var scratch = ByteBuffer()
        while tried < Self.keySampleRecords, let next = try? source.next() {
            guard case .record(let record) = next else { continue }
            tried += 1
            let data: [UInt8]
            switch record.data {
            case .raw(let bytes): data = bytes
            case .base64(let text):
                scratch.clear()
                guard (try? text.withUnsafeBytes { try Base64.decode($0, into: &scratch) }) != nil else { continue }
                data = Array(scratch.readableBytesView)
            }
            let wire = WireRecord(index: UInt64(record.lineNumber), subSequenceNumber: nil, arrivalTimestamp: nil,
                                  sequenceNumber: ByteBuffer(string: String(record.lineNumber)),
                                  partitionKey: ByteBuffer(bytes: record.partitionKey), data: ByteBuffer(bytes: data))
            var items: [Extractor.Item] = []
            extractor.extract(wire, into: &items)
            if items.contains(where: { $0.error == nil }) { return }
            lastError = items.first?.error
        }
        guard tried > 0 else { return }
        problems.append("""
            --key \(key): no item of the first \(tried) records of \(path) (\(option)) has it\(lastError.map { " (\($0))" } ?? ""); \
            items without their key could not be processed. Check the pointer (RFC 6901: /field/0/inner), or key by partitionKey
            """)
    }
}
