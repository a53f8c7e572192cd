#if canImport(Glibc)
import Glibc

/// glibc's `mallopt` and `malloc_trim` (declared in <malloc.h>, which the Glibc module does not
/// export).
@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
@_silgen_name("malloc_trim")
private func malloc_trim(_ pad: Int) -> Int32
#endif

/// How often a ShardFlow process hands the free pages of its heap back to the system.
let freeMemoryReleaseInterval: UInt32 = 5  // seconds

/// Tunes the C allocator for a ShardFlow process; call first thing in `main`.
///
/// Every process allocates and frees large buffers all the time (batch frames up to a few MiB,
/// the daemon's `processRecords` lines). By default glibc serves each of those with a fresh
/// `mmap` and returns it with `munmap` when freed, so every reuse costs a page fault and a
/// zeroed page per 4 KiB touched — measured at about 5% of the group's CPU time. Raising the
/// mmap threshold keeps them in the heap, where freed buffers are reused; the trim threshold
/// keeps that much free heap instead of returning it on every `free`.
///
/// A heap kept that way holds on to its high-water mark: after a burst (a stalled peer, then
/// its backlog) a process's heap stays at its burst size for the rest of the run. So every
/// ``freeMemoryReleaseInterval`` seconds a thread of the process returns the heap's whole free
/// pages with `malloc_trim`, off the hot path. The process uses a single heap (arena): glibc
/// returns the free end of the main heap only, and a second heap (the one glibc would give the
/// event-loop thread) would keep its burst size. Measured on the default group at 500,000
/// records/s with the router stalled twice for 3 s: without the release the group's PSS went
/// from about 96 to 122 MiB and stayed there; with it, from about 89 to 95 MiB, with no change
/// in throughput. One `malloc_trim` there took 0.1 ms (0.4 ms at most), holding the heap's
/// lock meanwhile.
public func tuneAllocator() {
    #if canImport(Glibc)
    let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
    let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
    let arenaMaximum: Int32 = -8  // M_ARENA_MAX
    _ = mallopt(mmapThreshold, 32 * 1024 * 1024)  // glibc's maximum on 64-bit
    _ = mallopt(trimThreshold, 64 * 1024 * 1024)
    _ = mallopt(arenaMaximum, 1)
    startReleasingFreeMemory()
    #endif
}

#if canImport(Glibc)
/// Starts the thread that calls `malloc_trim` every ``freeMemoryReleaseInterval`` seconds. It
/// starts with every signal blocked, so a signal meant for the process never lands on it. A
/// thread that cannot be created costs only the release: memory stays bounded by the
/// flow-control windows either way.
private func startReleasingFreeMemory() {
    var all = sigset_t()
    var previous = sigset_t()
    sigfillset(&all)
    pthread_sigmask(SIG_BLOCK, &all, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    var thread = pthread_t()
    let started = pthread_create(&thread, nil, { _ in
        while true {
            sleep(freeMemoryReleaseInterval)
            _ = malloc_trim(0)
        }
    }, nil)
    if started == 0 { pthread_detach(thread) }
}
#endif

/// Enlarges the kernel buffer of a pipe (the daemon's stdin and stdout pipes) to 1 MiB, the
/// unprivileged maximum by default, so a `processRecords` line of a few MiB crosses in a few
/// large reads instead of dozens of 64 KiB ones, each a wake-up of both processes. Quietly
/// does nothing for a descriptor that is not a pipe or when the system does not allow it.
public func enlargePipeBuffer(_ descriptor: Int32) {
    #if os(Linux)
    let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7)
    _ = fcntl(descriptor, setPipeSize, Int32(1024 * 1024))
    #endif
}
