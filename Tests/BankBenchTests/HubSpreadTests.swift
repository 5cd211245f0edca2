@testable import bankhub_bench
import Testing

/// `bankhub-bench fanout` over several hubs: the payers share the hubs (so no single hub has to commit the whole
/// rate) and every payee's subscriber sits on a hub other than its payer's (so every measured event crosses the bus).
@Suite struct HubSpreadTests {
    /// Every payee of every run shape: its subscriber's hub is never the hub of the payer connection that pays it.
    @Test(arguments: 2...5) func everySubscriberIsOnAnotherHubThanItsPayer(hubs: Int) {
        for payers in 1...13 {
            for payee in 0..<1_000 {
                let payer = FanoutLoad.payer(ofPayee: payee, payers: payers)
                let subscriberHub = HubSpread.subscriberHub(ofPayee: payee, payers: payers, hubs: hubs)
                #expect((0..<hubs).contains(subscriberHub))
                #expect(subscriberHub != HubSpread.payerHub(payer, hubs: hubs),
                        "payee \(payee) of payer \(payer), \(payers) payers over \(hubs) hubs")
            }
        }
    }

    /// The payer connections are spread over all the hubs, no hub more than one ahead of another.
    @Test(arguments: 2...5) func payersAreSpreadEvenlyOverEveryHub(hubs: Int) {
        for payers in hubs...(4 * hubs + 3) {
            let perHub = HubSpread.tally(payers, hubs: hubs) { HubSpread.payerHub($0, hubs: hubs) }
            #expect(perHub.reduce(0, +) == payers)
            #expect(perHub.min()! >= 1, "\(payers) payers over \(hubs) hubs: \(perHub)")
            #expect(perHub.max()! - perHub.min()! <= 1, "\(payers) payers over \(hubs) hubs: \(perHub)")
        }
    }

    /// By default 4 payers per hub: 3 hubs get 4 payers and a third of 1,000 subscribers each, so every hub both
    /// commits and delivers.
    @Test func theDefaultRunPutsPayersAndSubscribersOnEveryHub() {
        #expect(HubSpread.defaultPayers(hubs: 1) == 4)
        let payers = HubSpread.defaultPayers(hubs: 3)
        #expect(payers == 12)
        #expect(HubSpread.tally(payers, hubs: 3) { HubSpread.payerHub($0, hubs: 3) } == [4, 4, 4])
        let subscribers = HubSpread.tally(1_000, hubs: 3) { HubSpread.subscriberHub(ofPayee: $0, payers: payers, hubs: 3) }
        #expect(subscribers == [333, 334, 333])
    }

    /// One hub is the run of before: every payer and every subscriber on it.
    @Test func oneHubHoldsEverything() {
        for payee in 0..<100 {
            #expect(HubSpread.subscriberHub(ofPayee: payee, payers: 4, hubs: 1) == 0)
        }
        #expect(HubSpread.tally(4, hubs: 1) { HubSpread.payerHub($0, hubs: 1) } == [4])
    }
}
