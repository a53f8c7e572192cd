import Foundation
import NIOCore
import Testing

@testable import ShardFlowRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The durable sinks' file: whole lines only, a failed write undone, a torn tail repaired.
@Suite("Append-only file")
struct AppendOnlyFileTests {
    @Test("a partial last line left by a crash is removed when the file is opened")
    func repairsTornTail() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("{\"a\":1}\n{\"b\":2}\n{\"c\":", to: "out.jsonl")
        let file = try AppendOnlyFile(path: path)
        #expect(file.repairedBytes == 5)
        try file.append(ByteBuffer(string: "{\"c\":3}\n"))
        #expect(try directory.read("out.jsonl") == "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n")
    }

    @Test("a file without any complete line is emptied; new files are not world-readable")
    func noCompleteLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("{\"torn", to: "out.jsonl")
        let file = try AppendOnlyFile(path: path)
        #expect(file.repairedBytes == 6 && file.committedSize == 0)
        let fresh = try AppendOnlyFile(path: directory.path + "/new.jsonl")
        _ = fresh
        var info = stat()
        stat(directory.path + "/new.jsonl", &info)
        #expect(info.st_mode & 0o007 == 0, "mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test(
        "a full disk leaves only whole lines, refused by the reservation or undone after a partial write, and the retry succeeds once there is room",
        arguments: [true, false])
    func fullDisk(reserves: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mount = directory.path + "/small"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        guard Process.launch("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]) == 0 else {
            print("NOTE: cannot mount a tmpfs here; the full-disk file test is skipped")
            return
        }
        defer { _ = Process.launch("/bin/umount", ["-l", mount]) }
        let file = try AppendOnlyFile(path: mount + "/out.jsonl", reserves: reserves)
        let line = String(repeating: "x", count: 999) + "\n"
        var written = 0
        var failure: Error?
        while failure == nil {
            do {
                try file.append(ByteBuffer(string: String(repeating: line, count: 10)))
                written += 10
            } catch {
                failure = error
            }
        }
        let message = "\(failure!)"
        let aftermath = reserves ? "nothing of the batch was written" : "it was cut back to its last complete line"
        #expect(message.contains("cannot write \(mount)/out.jsonl: No space left on device (errno 28: the disk is full); \(aftermath)"), "\(message)")
        let size = (try FileManager.default.attributesOfItem(atPath: mount + "/out.jsonl")[.size] as? Int) ?? -1
        #expect(size == written * 1000, "only the committed lines remain")
        #expect(Process.launch("/bin/mount", ["-o", "remount,size=1m", mount]) == 0)
        try file.append(ByteBuffer(string: line))
        let text = try String(contentsOfFile: mount + "/out.jsonl", encoding: .utf8)
        #expect(text.split(separator: "\n").count == written + 1)
        #expect(text.split(separator: "\n").allSatisfy { $0.count == 999 })
    }

    @Test("a checkpoint file is replaced whole or not at all: a full disk leaves the old one and names the call")
    func atomicReplaceOnFullDisk() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mount = directory.path + "/state"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        guard Process.launch("/bin/mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", mount]) == 0 else {
            print("NOTE: cannot mount a tmpfs here; the full-disk checkpoint test is skipped")
            return
        }
        defer { _ = Process.launch("/bin/umount", ["-l", mount]) }
        try CheckpointStore.writeAtomically(ByteBuffer(string: "old\n"), to: mount + "/checkpoints.json", directory: mount)
        #expect(throws: SystemCallError.self) {
            try CheckpointStore.writeAtomically(ByteBuffer(string: String(repeating: "y", count: 64 * 1024)), to: mount + "/checkpoints.json", directory: mount)
        }
        #expect(try String(contentsOfFile: mount + "/checkpoints.json", encoding: .utf8) == "old\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount) == ["checkpoints.json"], "no temporary file left behind")
    }
}

extension Process {
    static func launch(_ program: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
