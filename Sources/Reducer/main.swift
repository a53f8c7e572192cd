import ShardFlowRuntime

// `shardflow-reducer`: processes items in batches (ReducerCommand).
ShardFlowProgram.reducer.main()
