import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Partitioner")
struct PartitionerTests {
    /// Fixed vectors computed with an independent implementation (Python) of the documented
    /// algorithm: FNV-1a 64, MurmurHash3 fmix64, jump consistent hash. If these change, keys
    /// move between reducers across versions.
    static let vectors: [(key: [UInt8], hash: UInt64, partitions: [Int])] = [
        ([], 0xEFD0_1F60_BA99_2926, [0, 1, 1, 1, 1, 1, 59]),
        (Array("a".utf8), 0x82A2_A958_A9BE_CE5B, [0, 1, 1, 3, 5, 5, 99]),
        (Array("cat".utf8), 0x98E2_5A30_2C6E_B1D4, [0, 0, 0, 0, 0, 8, 28]),
        (Array("pk1".utf8), 0x4E37_5B61_923F_1A9C, [0, 1, 1, 1, 1, 1, 45]),
        (Array("user-42".utf8), 0xA395_32C7_AB05_1E8D, [0, 1, 1, 1, 6, 6, 93]),
        (Array("é".utf8), 0x9D55_CCB9_BA86_763B, [0, 0, 0, 3, 4, 4, 96]),
    ]
    static let counts = [1, 2, 3, 4, 8, 16, 100]

    @Test("hashes and partitions are stable across processes, runs and versions")
    func fixedVectors() {
        for vector in Self.vectors {
            #expect(Partitioner.hash(vector.key) == vector.hash)
            #expect(Self.counts.map { Partitioner.partition(vector.key, count: $0) } == vector.partitions)
        }
    }

    @Test("keys spread evenly over reducers", arguments: [2, 4, 7, 16])
    func balance(reducers: Int) {
        var buckets = [Int](repeating: 0, count: reducers)
        let keys = 200_000
        for index in 0..<keys { buckets[Partitioner.partition(Array("key-\(index)".utf8), count: reducers)] += 1 }
        let mean = Double(keys) / Double(reducers)
        for count in buckets {
            #expect(abs(Double(count) - mean) / mean < 0.03, "bucket sizes \(buckets)")
        }
    }

    @Test("growing R to R+1 moves only about 1/(R+1) of the keys, all to the new reducer")
    func consistency() {
        let keys = (0..<50_000).map { Array("user-\($0)".utf8) }
        for reducers in [1, 3, 8] {
            var moved = 0
            for key in keys {
                let before = Partitioner.partition(key, count: reducers)
                let after = Partitioner.partition(key, count: reducers + 1)
                if before != after {
                    moved += 1
                    #expect(after == reducers)
                }
            }
            let expected = Double(keys.count) / Double(reducers + 1)
            #expect(abs(Double(moved) - expected) / expected < 0.05)
        }
    }

    @Test("Kinesis shard mapping: MD5 hash keys over equal ranges")
    func kinesisShards() {
        #expect(KinesisHashKey.hashKey(partitionKey: Array("pk1".utf8)) == UInt128("329398341438914906102347661116985167824")!)
        #expect(KinesisHashKey.hashKey(partitionKey: Array("pk2".utf8)) == UInt128("122875064651314509700510597659732835739")!)
        #expect([1, 2, 3, 4, 7].map { KinesisHashKey.shardIndex(partitionKey: Array("pk1".utf8), shardCount: $0) } == [0, 1, 2, 3, 6])
        #expect([1, 2, 3, 4, 7].map { KinesisHashKey.shardIndex(partitionKey: Array("pk2".utf8), shardCount: $0) } == [0, 0, 1, 1, 2])
        #expect([1, 2, 3, 4, 7].map { KinesisHashKey.shardIndex(partitionKey: Array("key-0".utf8), shardCount: $0) } == [0, 1, 2, 2, 4])
        #expect(KinesisHashKey.shardIndex(hashKey: .max, shardCount: 3) == 2)
        #expect(KinesisHashKey.shardIndex(hashKey: 0, shardCount: 3) == 0)
        // The boundary of 2 shards is 2^127.
        #expect(KinesisHashKey.shardIndex(hashKey: UInt128(1) << 127 - 1, shardCount: 2) == 0)
        #expect(KinesisHashKey.shardIndex(hashKey: UInt128(1) << 127, shardCount: 2) == 1)
    }
}
