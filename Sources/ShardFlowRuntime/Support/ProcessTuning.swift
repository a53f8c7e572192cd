#if canImport(Glibc)
import Glibc

/// glibc's `mallopt` (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// Tunes the C allocator for a ShardFlow process; call first thing in `main`.
///
/// Every process allocates and frees large buffers all the time (batch frames up to a few MiB,
/// the daemon's `processRecords` lines). By default glibc serves each of those with a fresh
/// `mmap` and returns it with `munmap` when freed, so every reuse costs a page fault and a
/// zeroed page per 4 KiB touched — measured at about 5% of the group's CPU time. Raising the
/// mmap threshold keeps them in the heap, where freed buffers are reused; the trim threshold
/// keeps that much free heap instead of returning it at once. Memory stays bounded by the
/// flow-control windows either way: this only changes who holds the freed pages.
public func tuneAllocator() {
    #if canImport(Glibc)
    let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
    let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
    _ = mallopt(mmapThreshold, 32 * 1024 * 1024)  // glibc's maximum on 64-bit
    _ = mallopt(trimThreshold, 64 * 1024 * 1024)
    #endif
}

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
