import ShardFlowRuntime

// `shardflow-mapper`: extracts and partitions items (MapperCommand).
ShardFlowProgram.mapper.main()
