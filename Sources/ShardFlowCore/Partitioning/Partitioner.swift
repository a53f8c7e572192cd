/// Maps an item's key to a reducer index, the same way in every process, run and version.
///
/// The key's bytes are hashed with 64-bit FNV-1a, the result is mixed with MurmurHash3's
/// 64-bit finalizer (FNV-1a alone spreads short, similar keys poorly), and the mixed value is
/// mapped to `0..<count` with Lamping and Veach's jump consistent hash. Jump hashing means that
/// growing the reducer count from R to R+1 moves only about 1/(R+1) of the keys, all to the new
/// reducer. Nothing here depends on Swift's per-process seeded `Hasher`. The constants and the
/// algorithm are part of the wire contract (`docs/wire-protocol.md`): changing them reorders
/// keys across reducers.
public enum Partitioner {
    /// The stable 64-bit hash of `key`.
    @inlinable
    public static func hash(_ key: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        hash ^= hash >> 33
        hash &*= 0xFF51_AFD7_ED55_8CCD
        hash ^= hash >> 33
        hash &*= 0xC4CE_B9FE_1A85_EC53
        hash ^= hash >> 33
        return hash
    }

    /// The partition (reducer index in `0..<count`) of `key`.
    @inlinable
    public static func partition(_ key: some Sequence<UInt8>, count: Int) -> Int {
        jumpConsistentHash(hash(key), buckets: count)
    }

    /// Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm" (2014).
    @inlinable
    public static func jumpConsistentHash(_ key: UInt64, buckets: Int) -> Int {
        precondition(buckets > 0, "partition count must be positive")
        var key = key
        var bucket: Int64 = -1
        var next: Int64 = 0
        while next < Int64(buckets) {
            bucket = next
            key = key &* 2_862_933_555_777_941_757 &+ 1
            next = Int64(Double(bucket + 1) * (Double(Int64(1) << 31) / Double((key >> 33) + 1)))
        }
        return Int(bucket)
    }
}
