import Dispatch
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Reads the local source on its own thread, assigns each record to a shard by the MD5 of its
/// partition key over equal hash-key ranges (as Kinesis does), gives it a sequence number, and
/// hands each shard ready-made `processRecords` lines. Memory stays bounded: each shard has at
/// most `maximumQueuedBatches` lines waiting, and the reader waits for room.
final class SourcePump: @unchecked Sendable {
    /// A `processRecords` line for one shard.
    struct Batch: Sendable {
        var line: ByteBuffer
        var count: Int
        var lastPosition: SequencePosition
    }

    struct Summary: Sendable {
        var records = 0
        var skippedBehindCheckpoint = 0
        var invalidLines: [(line: Int, reason: String)] = []
    }

    struct Configuration: Sendable {
        var shardCount: Int
        /// Where each shard resumes (nil: from the start; `.shardEnd`: skip the shard).
        var resumeAfter: [Checkpoint?]
        var batchRecords = 2000
        /// A line ends at this size too: it then fits in a worker's enlarged pipe and arrives in
        /// one read (a longer one is put together from several, copying it).
        var batchBytes = 512 * 1024
        var maximumQueuedBatches = 2
        /// Records per second over all shards (nil: as fast as they are taken): each shard's
        /// records so far are delivered every millisecond, as a stream read at that pace would.
        var rate: Int?
    }

    private let configuration: Configuration
    private var source: RecordSource
    private let monitor = Monitor()
    private var queued: [Int]
    private var cancelled = false
    private let progress = NIOLockedValueBox(0)

    /// Called on the reader thread for each batch (hop to your event loop).
    var deliver: @Sendable (_ shard: Int, _ batch: Batch) -> Void = { _, _ in }
    /// Called on the reader thread for each line that is not a valid record.
    var invalidLine: @Sendable (_ line: Int, _ reason: String) -> Void = { _, _ in }
    /// Called once with the outcome when the source is exhausted (or fails, or is cancelled).
    var finished: @Sendable (Result<Summary, Error>) -> Void = { _ in }

    init(source: RecordSource, configuration: Configuration) {
        self.source = source
        self.configuration = configuration
        self.queued = Array(repeating: 0, count: configuration.shardCount)
    }

    /// Records read so far (for progress).
    var recordsRead: Int { progress.withLockedValue { $0 } }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { raw in
            let pump = Unmanaged<SourcePump>.fromOpaque(raw!).takeRetainedValue()
            pump.finished(Result { try pump.run() })
            return nil
        }, box)
        pthread_detach(thread)
    }

    /// A shard took a batch: the reader may queue another.
    func batchConsumed(shard: Int) {
        monitor.withLock {
            queued[shard] -= 1
            monitor.broadcast()
        }
    }

    /// Stops reading at the next record.
    func cancel() {
        monitor.withLock {
            cancelled = true
            monitor.broadcast()
        }
    }

    /// The sequence number of line `line` of shard `shard`: 56 digits, "49", the shard index in
    /// 6 digits and the line number in 48, so it grows along the file and is the same on every
    /// run.
    static func sequenceNumber(shard: Int, line: Int) -> String {
        let shardText = String(shard)
        let lineText = String(line)
        return "49" + String(repeating: "0", count: 6 - shardText.count) + shardText
            + String(repeating: "0", count: 48 - lineText.count) + lineText
    }

    /// The line number a sequence number of ``sequenceNumber(shard:line:)`` encodes.
    static func lineNumber(of sequenceNumber: SequenceNumber) -> Int? {
        let text = sequenceNumber.text
        guard text.count == 56 else { return nil }
        return Int(text.suffix(48))
    }

    private func run() throws -> Summary {
        try run(&source)
    }

    /// The reading loop, specialized for each kind of source (no dynamic call per record).
    private func run<Source: RecordSource>(_ source: inout Source) throws -> Summary {
        var summary = Summary()
        let count = configuration.shardCount
        // One writer per shard, open while `isOpen`: kept in place (an optional writer read or
        // written per record is copied, buffer reference and all).
        var writers = [ProcessRecordsWriter](repeating: ProcessRecordsWriter(buffer: ByteBuffer()), count: count)
        var isOpen = [Bool](repeating: false, count: count)
        var lineSizes = [Int](repeating: 0, count: count)
        var shardOfKey: [[UInt8]: Int] = [:]
        var shardOfKeyID: [Int] = []
        var digits: [[UInt8]] = (0..<count).map { Array(Self.sequenceNumber(shard: $0, line: 0).utf8) }
        let resumeLines: [Int?] = configuration.resumeAfter.map { checkpoint in
            switch checkpoint {
            case nil, .trimHorizon?, .atTimestamp?: return 0
            case .position(let position)?: return Self.lineNumber(of: position.sequenceNumber) ?? 0
            case .latest?, .shardEnd?: return nil
            }
        }
        var now = Self.milliseconds()
        let paceStart = DispatchTime.now().uptimeNanoseconds

        var stopped = false
        reading: while !stopped {
            if let rate = configuration.rate {
                // Ahead of the pace: deliver what each shard has, then wait for the next record's time.
                let due = paceStart + UInt64(Double(summary.records) * 1e9 / Double(rate))
                let clock = DispatchTime.now().uptimeNanoseconds
                if due > clock {
                    for shard in 0..<count where isOpen[shard] {
                        guard emit(shard: shard, writer: &writers[shard], isOpen: &isOpen[shard], last: Self.position(digits[shard])) else { break }
                    }
                    if isCancelled { break }
                    // At least a millisecond: the records due meanwhile go out together.
                    usleep(UInt32(min(max(due - clock, 1_000_000) / 1000, 100_000)))
                    now = Self.milliseconds()
                }
            }
            if summary.records % 1024 == 0 {
                now = Self.milliseconds()
                if isCancelled { break }
                progress.withLockedValue { $0 = summary.records }
            }
            let step = try source.next { record in
                summary.records += 1
                let shard: Int
                if let id = record.keyID, id < shardOfKeyID.count, shardOfKeyID[id] >= 0 {
                    shard = shardOfKeyID[id]
                } else if let id = record.keyID, id < 1 << 20 {
                    if id >= shardOfKeyID.count { shardOfKeyID.append(contentsOf: repeatElement(-1, count: id + 1 - shardOfKeyID.count)) }
                    shard = KinesisHashKey.shardIndex(partitionKey: record.partitionKey, shardCount: count)
                    shardOfKeyID[id] = shard
                } else {
                    let key = Array(record.partitionKey)
                    if let known = shardOfKey[key] {
                        shard = known
                    } else {
                        shard = KinesisHashKey.shardIndex(partitionKey: key, shardCount: count)
                        if shardOfKey.count >= 1 << 16 { shardOfKey.removeAll(keepingCapacity: true) }
                        shardOfKey[key] = shard
                    }
                }
                guard let resume = resumeLines[shard], record.lineNumber > resume else {
                    summary.skippedBehindCheckpoint += 1
                    return
                }
                Self.setLine(record.lineNumber, in: &digits[shard])
                if !isOpen[shard] {
                    // Sized like the shard's previous line, so the buffer rarely grows (each growth
                    // copies everything written so far).
                    let capacity = min(lineSizes[shard] + lineSizes[shard] / 8, configuration.batchBytes + 1024 * 1024)
                    writers[shard] = ProcessRecordsWriter(buffer: ByteBufferAllocator().buffer(capacity: max(capacity, 64 * 1024)))
                    isOpen[shard] = true
                }
                digits[shard].withUnsafeBytes { sequence in
                    // The sequence number is digits this loop wrote.
                    writers[shard].append(
                        data: record.data, isBase64: record.isBase64, partitionKey: record.partitionKey, plainKey: record.plainKey,
                        sequenceNumber: sequence, plainSequenceNumber: true,
                        subSequenceNumber: 0, approximateArrivalTimestamp: record.arrivalTimestamp ?? now)
                }
                if writers[shard].count >= configuration.batchRecords || writers[shard].byteCount >= configuration.batchBytes {
                    lineSizes[shard] = writers[shard].byteCount
                    if !emit(shard: shard, writer: &writers[shard], isOpen: &isOpen[shard], last: Self.position(digits[shard])) {
                        stopped = true
                    }
                }
            }
            switch step {
            case .end:
                break reading
            case .record, .blank:
                continue
            case .invalid(let line, let reason):
                summary.invalidLines.append((line, reason))
                invalidLine(line, reason)
            }
        }
        progress.withLockedValue { $0 = summary.records }
        for shard in 0..<count where isOpen[shard] && !isCancelled {
            guard emit(shard: shard, writer: &writers[shard], isOpen: &isOpen[shard], last: Self.position(digits[shard])) else { break }
        }
        if isCancelled { throw CancellationError() }
        return summary
    }

    private var isCancelled: Bool {
        monitor.withLock { cancelled }
    }

    /// Waits for room in the shard's queue, then delivers its batch. False when cancelled.
    private func emit(shard: Int, writer: inout ProcessRecordsWriter, isOpen: inout Bool, last: SequencePosition) -> Bool {
        guard isOpen else { return true }
        isOpen = false
        let count = writer.count
        let line = writer.finish(millisBehindLatest: 0)
        writer = ProcessRecordsWriter(buffer: ByteBuffer())
        let admitted = monitor.withLock { () -> Bool in
            while queued[shard] >= configuration.maximumQueuedBatches, !cancelled { monitor.wait() }
            guard !cancelled else { return false }
            queued[shard] += 1
            return true
        }
        guard admitted else { return false }
        deliver(shard, Batch(line: line, count: count, lastPosition: last))
        return true
    }

    private static func position(_ digits: [UInt8]) -> SequencePosition {
        SequencePosition(sequenceNumber: SequenceNumber(String(decoding: digits, as: UTF8.self))!, subSequenceNumber: 0)
    }

    /// Writes `line` into the last 48 digits. Line numbers only grow within a shard, so the
    /// digits above the new number's top digit are already zeros.
    private static func setLine(_ line: Int, in digits: inout [UInt8]) {
        var value = line
        var index = digits.count - 1
        repeat {
            digits[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
            index -= 1
        } while value > 0 && index >= 8
    }

    static func milliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
