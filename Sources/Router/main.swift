import ShardFlowRuntime

// `shardflow-router`: the stage-router (RouterCommand).
ShardFlowProgram.router.main()
