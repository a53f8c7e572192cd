// Users of the runtime (for example a custom reducer executable) get the core types too.
@_exported import ShardFlowCore
