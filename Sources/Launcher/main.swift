import ShardFlowRuntime

// `shardflow`, the launcher; started under another program's name (as the launcher starts its
// group's processes), that program.
let program = ShardFlowProgram.invoked(fallback: .launcher)
if program != .launcher { program.nameProcess() }
program.main()
