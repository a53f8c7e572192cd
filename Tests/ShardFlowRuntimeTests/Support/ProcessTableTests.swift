import Foundation
import Testing

@testable import ShardFlowRuntime

/// The process table and memory figures the launcher reads from `/proc` for its summary, its
/// metrics and to stop what its children left behind.
@Suite("Process table")
struct ProcessTableTests {
    @Test("a child and the grandchild it started are found below this process, and only there")
    func descendants() throws {
        // sh starts a sleep in the background (the grandchild), prints its pid and sleeps too.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "sleep 30 & echo $!; exec sleep 30"]
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        let grandchild = try #require(Int32(line.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer {
            kill(grandchild, SIGKILL)
            kill(shell.processIdentifier, SIGKILL)
            shell.waitUntilExit()
        }
        let below = ProcessTable.descendants(of: getpid())
        #expect(below.contains(shell.processIdentifier) && below.contains(grandchild))
        #expect(ProcessTable.children(of: getpid()).contains(shell.processIdentifier))
        #expect(!ProcessTable.children(of: getpid()).contains(grandchild), "a grandchild is not a child")
        #expect(ProcessTable.children(of: shell.processIdentifier) == [grandchild])
        #expect(!ProcessTable.descendants(of: shell.processIdentifier).contains(getpid()))
        // A process named a leaf is found, but what is below it is not looked up.
        let belowLeaf = ProcessTable.descendants(of: getpid(), leaves: [shell.processIdentifier])
        #expect(belowLeaf.contains(shell.processIdentifier) && !belowLeaf.contains(grandchild))
    }

    @Test("the proportional set size of a live process is read; a gone one has none")
    func proportionalBytes() throws {
        let own = try #require(MemorySampler.proportionalBytes(of: getpid()))
        #expect(own > 1 << 20, "this test process uses more than a MiB: \(own)")
        #expect(MemorySampler.proportionalBytes(of: 0x3FFF_FFF0) == nil)
    }
}

extension ProcessTableTests {
    @Test("the resident size read from statm is in bytes and close to the one smaps_rollup shows")
    func residentBytes() throws {
        let resident = try #require(MemorySampler.residentBytes(of: getpid()))
        let proportional = try #require(MemorySampler.proportionalBytes(of: getpid()))
        #expect(resident >= proportional, "PSS never exceeds RSS: \(proportional) > \(resident)")
        #expect(MemorySampler.residentBytes(of: 0x3FFF_FFF0) == nil)
    }

    @Test("a sample sums the tree and keeps each process's peak; an unchanged process keeps its last reading")
    func sampling() {
        var sampler = MemorySampler()
        sampler.sample(named: [("self", getpid())], root: getpid())
        let first = sampler.peakSum
        // Other tests may have children of this process running: the sum counts them too.
        let own = sampler.peakByName["self"] ?? 0
        #expect(own > 0 && own <= first)
        // Grow by far more than the refresh threshold: the next sample reads the new size.
        let size = 64 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { block.deallocate() }
        memset(block, 1, size)
        sampler.sample(named: [("self", getpid())], root: getpid())
        #expect((sampler.peakByName["self"] ?? 0) >= own + size / 2, "\(sampler.peakByName["self"] ?? 0) after touching 64 MiB more than \(own)")
    }
}
