import Testing

@testable import ShardFlowRuntime

@Suite("Programs by the name they are started as")
struct ShardFlowProgramTests {
    @Test("argv[0] names a program by its last path component, exactly")
    func names() {
        #expect(ShardFlowProgram(invokedAs: "/usr/local/bin/shardflow-router") == .router)
        #expect(ShardFlowProgram(invokedAs: "shardflow-worker") == .worker)
        #expect(ShardFlowProgram(invokedAs: "./bin/shardflow-mapper") == .mapper)
        #expect(ShardFlowProgram(invokedAs: "/opt/sf/shardflow-reducer") == .reducer)
        #expect(ShardFlowProgram(invokedAs: "/usr/bin/shardflow") == .launcher)
        #expect(ShardFlowProgram(invokedAs: "/usr/bin/shardflow-routerx") == nil)
        #expect(ShardFlowProgram(invokedAs: "/shardflow-router/shardflow2") == nil)
        #expect(ShardFlowProgram(invokedAs: "shardflow-router/") == nil)
        #expect(ShardFlowProgram(invokedAs: "") == nil)
    }
}
