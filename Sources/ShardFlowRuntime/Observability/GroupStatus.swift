import NIOCore

/// The group as its processes describe themselves: every control socket's `status` answer,
/// merged into a row per shard (with what holds its oldest incomplete record, when a reducer
/// knows) and a row per process. What `shardflow status` prints and the launcher's progress
/// line quotes. Gathering blocks: call it off any event loop.
public struct GroupStatus: Sendable {
    public struct ShardRow: Sendable, Hashable {
        public var stream: String
        public var shard: String
        public var received: Int
        public var completed: Int
        public var incomplete: Int
        public var heldBack: Bool
        public var oldestAgeSeconds: Double?
        public var millisBehindLatest: Int?
        public var lastCheckpoint: String?
        public var lastCheckpointTime: Double?
        /// The oldest incomplete record, when there is one.
        public var stuckSequenceNumber: String?
        public var attempts: Int?
        public var lastError: String?
    }

    public struct ProcessRow: Sendable, Hashable {
        public var name: String
        public var role: String
        public var state: String
        public var restarts: Int?
        public var cpuSeconds: Double?
        public var residentBytes: Int?
        public var proportionalBytes: Int?
        public var queued: Int?
    }

    public var shards: [ShardRow] = []
    public var processes: [ProcessRow] = []
    /// Every answer as it came, by process name (for `--json`).
    public var documents: [(name: String, document: JSONValue)] = []

    public init() {}

    /// Asks every control socket in `directory` for its status.
    public static func gather(controlDirectory directory: String, allowedUIDs: Set<UInt32> = [], timeoutMilliseconds: Int32 = 2000) -> GroupStatus {
        var status = GroupStatus()
        var unreachable: [(String, String)] = []
        for socket in ControlClient.sockets(in: directory) {
            let text: String
            do {
                text = try ControlClient.ask(socket.path, "status", timeoutMilliseconds: timeoutMilliseconds, allowedUIDs: allowedUIDs)
            } catch .gone where socket.name.hasPrefix("worker-") {
                continue  // a worker that exited; its shard is elsewhere now
            } catch {
                unreachable.append((socket.name, "\(error)"))
                continue
            }
            do {
                status.documents.append((socket.name, try JSONParser.parse(Array(text.utf8))))
            } catch {
                unreachable.append((socket.name, "answered something that is not a status (\(error))"))
            }
        }
        status.build(unreachable: unreachable)
        return status
    }

    /// Builds the rows from the documents (and processes that did not answer).
    mutating func build(unreachable: [(String, String)] = []) {
        let reducers = documents.filter { $0.document["role"]?.stringValue == "reducer" }
        let launcher = documents.first { $0.document["role"]?.stringValue == "launcher" }?.document
        var restarts: [String: Int] = [:]
        if case .array(let members)? = launcher?["processes"] {
            for member in members {
                if let name = member["name"]?.stringValue, let count = member["restarts"]?.int { restarts[name] = count }
            }
        }
        var stuckByShard: [String: [JSONValue]] = [:]
        for (_, reducer) in reducers {
            guard case .array(let entries)? = reducer["stuck"] else { continue }
            for entry in entries {
                stuckByShard["\(entry["stream"]?.stringValue ?? "")/\(entry["shard"]?.stringValue ?? "")", default: []].append(entry)
            }
        }
        shards = documents.compactMap { _, document -> ShardRow? in
            guard document["role"]?.stringValue == "worker" else { return nil }
            let stream = document["stream"]?.stringValue ?? ""
            let shard = document["shard"]?.stringValue ?? ""
            var row = ShardRow(
                stream: stream, shard: shard, received: document["received"]?.int ?? 0, completed: document["completedRecords"]?.int ?? 0,
                incomplete: document["incomplete"]?.int ?? 0, heldBack: document["heldBack"] == .bool(true),
                millisBehindLatest: document["millisBehindLatest"]?.int,
                lastCheckpoint: document["lastCheckpoint"]?["sequenceNumber"]?.stringValue,
                lastCheckpointTime: document["lastCheckpoint"]?["time"]?.double)
            if let oldest = document["oldestIncomplete"], case .object = oldest {
                row.oldestAgeSeconds = oldest["ageSeconds"]?.double
                row.stuckSequenceNumber = oldest["sequenceNumber"]?.stringValue
                let failed = oldest["failedAttempts"]?.int ?? 0
                row.attempts = failed > 0 ? failed : nil
                let entries = stuckByShard["\(stream)/\(shard)"] ?? []
                let entry = entries.first { $0["sequenceNumber"]?.stringValue == row.stuckSequenceNumber }
                    ?? entries.max { ($0["heldSeconds"]?.double ?? 0) < ($1["heldSeconds"]?.double ?? 0) }
                if let entry {
                    row.stuckSequenceNumber = entry["sequenceNumber"]?.stringValue ?? row.stuckSequenceNumber
                    row.attempts = max(row.attempts ?? 0, entry["attempts"]?.int ?? 0)
                    row.lastError = entry["lastError"]?.stringValue
                }
            }
            return row
        }.sorted { ($0.stream, $0.shard) < ($1.stream, $1.shard) }
        processes = documents.map { name, document in
            ProcessRow(
                name: document["process"]?.stringValue ?? name, role: document["role"]?.stringValue ?? "?", state: "running",
                restarts: restarts[name], cpuSeconds: document["cpuSeconds"]?.double, residentBytes: document["residentBytes"]?.int,
                proportionalBytes: document["proportionalBytes"]?.int, queued: document["queued"]?.int ?? document["incomplete"]?.int)
        } + unreachable.map { name, reason in
            ProcessRow(name: name, role: "?", state: "not answering (\(reason))", restarts: restarts[name])
        }
        // Members the launcher knows of that have no socket at all (down, or restarting).
        if case .array(let members)? = launcher?["processes"] {
            for member in members {
                guard let name = member["name"]?.stringValue, !processes.contains(where: { $0.name == name }) else { continue }
                processes.append(ProcessRow(name: name, role: member["role"]?.stringValue ?? "?", state: member["state"]?.stringValue ?? "down",
                                            restarts: member["restarts"]?.int))
            }
        }
        processes.sort { $0.name < $1.name }
    }

    /// The shards whose oldest incomplete record has waited at least `threshold` seconds.
    public func stuck(after threshold: Double) -> [ShardRow] {
        shards.filter { ($0.oldestAgeSeconds ?? 0) >= threshold }
    }

    // MARK: Rendering

    /// The tables `shardflow status` prints.
    public func table(now: Double) -> String {
        var lines: [[String]] = [["STREAM", "SHARD", "RECEIVED", "COMPLETED", "INCOMPLETE", "OLDEST", "LAG", "LAST CHECKPOINT", "STUCK RECORD"]]
        for row in shards {
            var stuck = "-"
            if let sequence = row.stuckSequenceNumber, (row.oldestAgeSeconds ?? 0) >= 1 {
                stuck = sequence
                if let attempts = row.attempts { stuck += " (attempt \(attempts)" + (row.lastError.map { ": \($0)" } ?? "") + ")" }
            }
            let checkpoint = row.lastCheckpoint.map { sequence in
                sequence + (row.lastCheckpointTime.map { " (\(Self.seconds(now - $0)) ago)" } ?? "")
            } ?? "-"
            lines.append([
                row.stream.isEmpty ? "-" : row.stream, row.shard, String(row.received), String(row.completed),
                String(row.incomplete) + (row.heldBack ? " (held back)" : ""), row.oldestAgeSeconds.map(Self.seconds) ?? "-",
                row.millisBehindLatest.map { Self.seconds(Double($0) / 1000) } ?? "-", checkpoint, stuck,
            ])
        }
        var text = shards.isEmpty ? "No shard workers are running.\n" : Self.render(lines)
        var processLines: [[String]] = [["PROCESS", "ROLE", "STATE", "RESTARTS", "CPU", "RSS", "PSS", "QUEUE"]]
        for row in processes {
            processLines.append([
                row.name, row.role, row.state, row.restarts.map(String.init) ?? "-", row.cpuSeconds.map { Self.seconds($0) } ?? "-",
                row.residentBytes.map(Self.bytes) ?? "-", row.proportionalBytes.map(Self.bytes) ?? "-", row.queued.map(String.init) ?? "-",
            ])
        }
        text += "\n" + (processes.isEmpty ? "No process answered.\n" : Self.render(processLines))
        return text
    }

    /// The answers and rows as one JSON document (`shardflow status --json`).
    public func json() -> String {
        var json = JSONWriter(buffer: ByteBuffer())
        json.beginObject()
        json.key("shards")
        json.beginArray()
        for row in shards {
            json.beginObject()
            json.key("stream"); json.string(row.stream)
            json.key("shard"); json.string(row.shard)
            json.key("received"); json.integer(row.received)
            json.key("completed"); json.integer(row.completed)
            json.key("incomplete"); json.integer(row.incomplete)
            json.key("heldBack"); json.bool(row.heldBack)
            json.key("oldestIncompleteAgeSeconds"); row.oldestAgeSeconds.map { json.number(text: $0.fixed(3)) } ?? json.null()
            json.key("millisBehindLatest"); json.optionalInteger(row.millisBehindLatest)
            json.key("lastCheckpoint"); json.optionalString(row.lastCheckpoint)
            json.key("stuckSequenceNumber"); json.optionalString(row.stuckSequenceNumber)
            json.key("attempts"); json.optionalInteger(row.attempts)
            json.key("lastError"); json.optionalString(row.lastError)
            json.endObject()
        }
        json.endArray()
        json.key("processes")
        json.beginArray()
        for (_, document) in documents { json.value(document) }
        json.endArray()
        json.endObject()
        json.endLine()
        return String(buffer: json.buffer)
    }

    static func render(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func seconds(_ value: Double) -> String {
        if value >= 3600 { return "\((value / 3600).fixed(1))h" }
        if value >= 60 { return "\((value / 60).fixed(1))m" }
        return "\(value.fixed(value < 10 ? 1 : 0))s"
    }

    static func bytes(_ value: Int) -> String {
        "\((Double(value) / Double(1 << 20)).fixed(0))MiB"
    }
}

extension JSONValue {
    /// The value as an integer, when it is a number that is one.
    var int: Int? {
        if case .number(let number) = self { return Int(exactly: number.doubleValue) }
        return nil
    }

    var double: Double? {
        if case .number(let number) = self { return number.doubleValue }
        return nil
    }
}
