import ArgumentParser
import Foundation
import WebSocketClient

/// `bankhub-bench fanout`: subscribers on the payees' streams, a paced (open-loop) transfer rate, and the
/// time from sending a transfer to its `balance` event reaching the payee's subscriber (commit included), and
/// the CPU time per transfer sent of the hub and of the load generator.
///
/// With several `--url`s the payer connections are spread round robin over all the hubs (so they share the
/// commits) and each payee's subscriber is on the hub after its payer's (``HubSpread/subscriberHub(ofPayee:payers:hubs:)``),
/// so every event measured crossed the bus: the latency is from the transfer sent to hub A to its `balance`
/// event received from hub B.
struct FanoutScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout", abstract: "Push latency: transfer sent -> balance event received by the payee's subscriber.",
        discussion: """
            Payee j is paid only by payer connection j mod P. With several --url hubs the payer connections go \
            round robin over all of them (payer i on hub i mod N) and payee j's subscriber on the hub after its \
            payer's, so every event crosses the bus between hubs and every hub commits a share of the transfers.
            """)

    @OptionGroup var options: BenchOptions
    @Option(help: "Subscriber connections, each on its own payee account's stream.") var subscribers = 1_000
    @Option(help: "Transfers per second, paced (open loop).") var rate = 5_000.0
    @Option(help: "Seconds to measure (after the warm-up).") var duration = 10.0
    @Option(help: "Seconds of load before measuring starts.") var warmup = 1.0
    @Option(help: ArgumentHelp("Payer connections sending the transfers (default: 4 per hub).", valueName: "n"))
    var payers: Int?

    static let depositCents: Int64 = 100_000_000

    func validate() throws {
        guard subscribers > 0, rate > 0, duration > 0, warmup >= 0, payers ?? 1 > 0 else {
            throw ValidationError("subscribers, rate, duration and payers must be positive")
        }
    }

    func run() async throws {
        let target = try await BenchTarget.start(options)
        defer { target.removeFiles() }
        let hubCount = target.hubs.count
        let payers = self.payers ?? HubSpread.defaultPayers(hubs: hubCount)
        let loop = try WebSocketClientLoop()
        defer { loop.shutdown() }
        Progress.line("setting up \(payers) payers and \(subscribers) payee accounts")
        let payerCustomers = try await BenchSetup.customers(payers, accounts: payers, depositCents: Self.depositCents,
                                                            address: target.address, loop: loop)
        let payeeCustomerCount = (subscribers + BenchSetup.accountsPerCustomerMax - 1) / BenchSetup.accountsPerCustomerMax
        let payeeCustomers = try await BenchSetup.customers(payeeCustomerCount, accounts: subscribers, depositCents: 0,
                                                            address: target.address, loop: loop)
        let payees = payeeCustomers.flatMap { customer in customer.accounts.map { (customer.token, $0) } }
        let load = FanoutLoad(plan: .init(payerAccounts: payerCustomers.map { $0.accounts[0] },
                                          payeeAccounts: payees.map(\.1)))
        let subscriberHub = { (payee: Int) in HubSpread.subscriberHub(ofPayee: payee, payers: payers, hubs: hubCount) }
        let subscribed = try await Subscribers.open(payees.count, hubOf: { target.hubs[subscriberHub($0)] }, loop: loop,
                                                    request: { (payees[$0].0, "account:\(payees[$0].1)", nil) },
                                                    onFrame: load.handleSubscriber)
        load.start(from: subscribed.heads)
        var payerLinks: [BenchLink] = []
        for (index, customer) in payerCustomers.enumerated() {
            let hub = target.hubs[HubSpread.payerHub(index, hubs: hubCount)]
            payerLinks.append(try await BenchSetup.authenticated(hub, loop: loop, index: index,
                                                                 token: customer.token, onFrame: load.handlePayer))
        }
        load.attach(payers: payerLinks)

        Progress.line("pacing \(rate) transfers/s to \(subscribers) subscribers for \(warmup)+\(duration) s")
        let pacer = Pacer(rate: rate, seconds: warmup + duration, send: load.send)
        let started = pacer.start()
        let measureFrom = started + UInt64(warmup * 1e9)
        try await Task.sleep(for: .seconds(warmup))
        load.beginMeasuring(at: measureFrom)
        let sentBefore = load.totals.sent
        let cpu = CPUWindow.begin(hubs: target.separateProcessIDs)
        Progress.line("measuring for \(duration) s")
        await pacer.finished()
        let elapsed = Double(Nanoseconds.now() - measureFrom) / 1e9
        let sentInWindow = load.totals.sent - sentBefore
        let usage = cpu.end()
        let windowEvents = load.totals.eventsInWindow
        load.recorder.stop()
        // Let the last commits and events arrive.
        for _ in 0..<500 where load.totals.unanswered > 0 || load.totals.missing > 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        load.stop()
        let totals = load.totals
        let verdict = try await LedgerCheck.verify(payerCustomers + payeeCustomers,
                                                   expectedCents: Int64(payers) * Self.depositCents,
                                                   target: target, loop: loop)
        for link in payerLinks + subscribed.links { link.close() }
        await target.stop()

        var report = BenchReport(scenario: "fanout")
        report.add("target", target.label)
        report.add("subscribers", subscribers)
        report.add("rate", rate, decimals: 1)
        report.add("duration_s", duration, decimals: 1)
        report.add("payers", payers)
        if hubCount > 1 {
            let payersPerHub = HubSpread.tally(payers, hubs: hubCount) { HubSpread.payerHub($0, hubs: hubCount) }
            let subscribersPerHub = HubSpread.tally(payees.count, hubs: hubCount, hub: subscriberHub)
            report.add("hubs", hubCount)
            report.add("payer_hubs", payersPerHub.count(where: { $0 > 0 }))
            report.add("subscriber_hubs", subscribersPerHub.count(where: { $0 > 0 }))
            report.add("payers_per_hub", payersPerHub.map(String.init).joined(separator: " "))
            report.add("subscribers_per_hub", subscribersPerHub.map(String.init).joined(separator: " "))
        }
        report.add("sent", totals.sent)
        report.add("committed", totals.committed)
        report.add("events_per_s", Double(windowEvents) / elapsed, decimals: 1)
        report.add("events_delivered", totals.eventsDelivered)
        report.addLatency(load.recorder.summary)
        usage.add(to: &report, transfers: sentInWindow)
        report.addErrors(load.recorder.errors)
        report.add("missing", totals.missing + totals.unanswered)
        report.add("out_of_order", totals.outOfOrder)
        verdict.add(to: &report)
        report.print(json: options.json)
        if !verdict.holds || totals.missing + totals.unanswered > 0 || totals.outOfOrder > 0 { throw ExitCode(2) }
    }
}
