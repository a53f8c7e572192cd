/// How Kinesis maps partition keys to shards: MD5 of the UTF-8 key read as an unsigned
/// big-endian 128-bit hash key, and shards owning equal, contiguous hash-key ranges (as
/// `CreateStream` with N shards makes them).
public enum KinesisHashKey {
    /// The 128-bit hash key of a partition key.
    public static func hashKey(partitionKey: some Collection<UInt8>) -> UInt128 {
        MD5.digest(partitionKey).reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
    }

    /// The index of the shard that owns `hashKey` among `shardCount` equal ranges.
    public static func shardIndex(hashKey: UInt128, shardCount: Int) -> Int {
        precondition(shardCount > 0, "shard count must be positive")
        guard shardCount > 1 else { return 0 }
        // floor(2^128 / shardCount), computed without 2^128 itself.
        let width = UInt128.max / UInt128(shardCount) + (UInt128.max % UInt128(shardCount) == UInt128(shardCount) - 1 ? 1 : 0)
        return min(Int(hashKey / width), shardCount - 1)
    }

    /// The shard index of a partition key among `shardCount` equal ranges.
    public static func shardIndex(partitionKey: some Collection<UInt8>, shardCount: Int) -> Int {
        shardIndex(hashKey: hashKey(partitionKey: partitionKey), shardCount: shardCount)
    }
}
