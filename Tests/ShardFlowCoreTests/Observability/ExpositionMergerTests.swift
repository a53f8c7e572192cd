import Testing

@testable import ShardFlowCore

@Suite("Exposition merger")
struct ExpositionMergerTests {
    @Test("families several processes export appear once, with every process's samples; help comes from the catalog when missing")
    func merges() {
        var merger = ExpositionMerger(help: ["shardflow_reducer_items_processed_total": "Items processed."])
        merger.add("""
            # TYPE shardflow_reducer_items_processed_total counter
            shardflow_reducer_items_processed_total{reducer="0"} 5
            # TYPE shardflow_reducer_batch_duration_seconds histogram
            shardflow_reducer_batch_duration_seconds_bucket{reducer="0",le="0.1"} 1
            shardflow_reducer_batch_duration_seconds_bucket{reducer="0",le="+Inf"} 2
            shardflow_reducer_batch_duration_seconds_sum{reducer="0"} 0.3
            shardflow_reducer_batch_duration_seconds_count{reducer="0"} 2

            """)
        merger.add("""
            # HELP shardflow_reducer_items_processed_total Own help wins.
            # TYPE shardflow_reducer_items_processed_total counter
            shardflow_reducer_items_processed_total{reducer="1"} 7
            # unknown request x: ask status or metrics
            """)
        #expect(merger.text() == """
            # HELP shardflow_reducer_items_processed_total Own help wins.
            # TYPE shardflow_reducer_items_processed_total counter
            shardflow_reducer_items_processed_total{reducer="0"} 5
            shardflow_reducer_items_processed_total{reducer="1"} 7
            # TYPE shardflow_reducer_batch_duration_seconds histogram
            shardflow_reducer_batch_duration_seconds_bucket{reducer="0",le="0.1"} 1
            shardflow_reducer_batch_duration_seconds_bucket{reducer="0",le="+Inf"} 2
            shardflow_reducer_batch_duration_seconds_sum{reducer="0"} 0.3
            shardflow_reducer_batch_duration_seconds_count{reducer="0"} 2

            """)
        var catalogOnly = ExpositionMerger(help: ["a_total": "From the catalog."])
        catalogOnly.add("# TYPE a_total counter\na_total 1\n")
        #expect(catalogOnly.text() == "# HELP a_total From the catalog.\n# TYPE a_total counter\na_total 1\n")
    }
}
