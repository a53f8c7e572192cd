import ShardFlowRuntime

// `shardflow-worker`: the MultiLangDaemon child for one shard (WorkerCommand).
ShardFlowProgram.worker.main()
