import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Credit accounting")
struct CreditTests {
    @Test("a receiver's window: the count is strict, the bytes saturate; credit returns by quarter windows or when drained")
    func window() {
        var window = CreditWindow(window: Credit(count: 8, bytes: 800))
        #expect(window.receive(count: 3, bytes: 300) == true)
        #expect(window.outstanding == Credit(count: 5, bytes: 500))
        #expect(window.receive(count: 5, bytes: 900) == true, "a batch may overshoot the bytes while some byte credit is left")
        #expect(window.outstanding == Credit(count: 0, bytes: 0))
        #expect(window.receive(count: 1, bytes: 1) == false, "no count left: a protocol violation")
        #expect(window.receive(count: 0, bytes: 0) == true, "an empty batch spends nothing")
        window.release(count: 1, bytes: 100)
        #expect(window.takeReturn(drained: false) == nil, "less than a quarter window freed")
        window.release(count: 1, bytes: 100)
        #expect(window.takeReturn(drained: false) == Credit(count: 2, bytes: 200))
        #expect(window.outstanding == Credit(count: 2, bytes: 200))
        window.release(count: 1, bytes: 50)
        #expect(window.takeReturn(drained: true) == Credit(count: 1, bytes: 50), "drained: whatever is freed goes back")
        #expect(window.takeReturn(drained: true) == nil, "nothing freed, nothing returned")
    }

    @Test("a sender's balance: grants add up; a batch may start while both counts are positive")
    func balance() {
        var balance = CreditBalance()
        #expect(!balance.canSend && balance.allowedCount(limit: 10) == 0)
        balance.grant(Credit(count: 3, bytes: 100))
        balance.grant(Credit(count: 2, bytes: 100))
        #expect(balance.allowedCount(limit: 10) == 5 && balance.allowedCount(limit: 4) == 4)
        balance.spend(count: 4, bytes: 250)
        #expect(balance.available == Credit(count: 1, bytes: 0))
        #expect(!balance.canSend, "no byte credit left")
    }

    @Test("the flow defaults are what the wire protocol documents")
    func defaults() {
        #expect(FlowDefaults.workerWindow == Credit(count: 16384, bytes: 32 << 20))
        #expect(FlowDefaults.routerWindow == Credit(count: 16384, bytes: 32 << 20))
        #expect(FlowDefaults.mapperWindow == Credit(count: 16384, bytes: 32 << 20))
        #expect(FlowDefaults.maximumBatchCount == 4096 && FlowDefaults.maximumBatchBytes == 4 << 20)
    }
}
