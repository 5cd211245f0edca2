import ArgumentParser
import Foundation
import WebSocketClient

/// `bankhub-bench transfers`: closed-loop durable transfers; committed transfers/s, request-to-reply latency,
/// errors by code, CPU time per transfer of the hub and of the load generator, then a check that no money was
/// created or lost.
///
/// The default shape is the one users compare with `pgbench` tpcb-like at 16 clients: 16 connections, each a
/// customer with 4 of the 64 accounts, keeping 8 transfers in flight from its own accounts to the other
/// customers' accounts. With several `--url`s the connections go round robin over the hubs (a payee's account
/// is then often served by another hub than its payer's), and the report adds what each hub committed.
struct TransfersScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfers", abstract: "Committed transfers/s and request-to-reply latency.")

    @OptionGroup var options: BenchOptions
    @Option(help: "Seconds to measure (after the warm-up).") var duration = 10.0
    @Option(help: "Seconds of load before measuring starts.") var warmup = 1.0
    @Option(help: "WebSocket connections, each logged in as its own customer.") var connections = 16
    @Option(help: "Transfers outstanding per connection.") var inFlight = 8
    @Option(help: "Accounts in all, spread evenly over the customers (one customer per connection, more when over 19 each).")
    var accounts = 64
    @Option(help: "Zipf exponent for picking accounts (0 = uniform; 1 = a few hot accounts).") var zipf = 0.0

    static let depositCents: Int64 = 100_000_000

    func validate() throws {
        guard duration > 0, warmup >= 0, connections > 0, inFlight > 0, accounts > 0, zipf >= 0 else {
            throw ValidationError("duration, connections, in-flight and accounts must be positive")
        }
        guard inFlight <= 1_024 else { throw ValidationError("the hub allows at most 1,024 requests in flight") }
    }

    func run() async throws {
        let target = try await BenchTarget.start(options)
        defer { target.removeFiles() }
        let loop = try WebSocketClientLoop()
        defer { loop.shutdown() }
        // One customer per connection (at least two, so there is someone to pay), more when the accounts do
        // not fit 19 to a customer (the sign-up account is the 20th); the accounts are spread evenly (64 over 16: 4 each).
        let perCustomerMax = BenchSetup.accountsPerCustomerMax
        let customerCount = max(connections, 2, (accounts + perCustomerMax - 1) / perCustomerMax)
        let accountCount = max(accounts, customerCount)
        Progress.line("setting up \(customerCount) customers with \(accountCount) accounts on \(target.address.host):\(target.address.port)")
        let customers = try await BenchSetup.customers(customerCount, accounts: accountCount,
                                                       depositCents: Self.depositCents, address: target.address,
                                                       loop: loop)
        let load = TransferLoad(plan: .init(allAccounts: customers.flatMap(\.accounts),
                                            payerRanges: Array(Self.accountRanges(customers).prefix(connections)),
                                            inFlight: inFlight, skew: zipf, amountCentsMax: 100))
        var links: [BenchLink] = []
        for index in 0..<connections {
            let hub = target.hubs[HubSpread.hub(of: index, hubs: target.hubs.count)]
            links.append(try await BenchSetup.authenticated(hub, loop: loop, index: index,
                                                            token: customers[index].token, onFrame: load.handle))
        }
        Progress.line("running \(connections) connections x \(inFlight) in flight for \(warmup)+\(duration) s")
        load.start(links)
        try await Task.sleep(for: .seconds(warmup))
        let committedBefore = load.beginMeasuring()
        let committedByLinkBefore = load.committedByLink
        let cpu = CPUWindow.begin(hubs: target.separateProcessIDs)
        Progress.line("measuring for \(duration) s")
        try await Task.sleep(for: .seconds(duration))
        load.stop()
        let committed = load.committed - committedBefore
        let committedByLink = zip(load.committedByLink, committedByLinkBefore).map { $0 - $1 }
        let usage = cpu.end()
        let unanswered = await load.drain(timeoutSeconds: 30)
        Progress.line("checking the ledger")
        let verdict = try await LedgerCheck.verify(customers, expectedCents: Int64(accountCount) * Self.depositCents,
                                                   target: target, loop: loop)
        for link in links { link.close() }
        await target.stop()

        var report = BenchReport(scenario: "transfers")
        report.add("target", target.label)
        report.add("duration_s", duration, decimals: 1)
        report.add("connections", connections)
        report.add("in_flight", inFlight)
        report.add("customers", customerCount)
        report.add("accounts", accountCount)
        report.add("zipf", zipf, decimals: 2)
        report.add("tps", Double(committed) / usage.wallSeconds, decimals: 1)
        report.add("committed", committed)
        if target.hubs.count > 1 {
            report.add("hubs", target.hubs.count)
            let perHub = Self.perHub(committedByLink, hubs: target.hubs.count)
            report.add("tps_per_hub", perHub.map { String(format: "%.0f", Double($0) / usage.wallSeconds) }
                .joined(separator: " "))
        }
        report.addLatency(load.recorder.summary)
        usage.add(to: &report, transfers: committed)
        report.addErrors(load.recorder.errors)
        report.add("missing", unanswered)
        verdict.add(to: &report)
        report.print(json: options.json)
        if !verdict.holds || unanswered > 0 { throw ExitCode(2) }
    }

    /// Per-connection counts summed per hub, the connections spread round robin (``HubSpread``).
    static func perHub(_ byLink: [Int], hubs: Int) -> [Int] {
        var sums = Array(repeating: 0, count: hubs)
        for (index, count) in byLink.enumerated() { sums[HubSpread.hub(of: index, hubs: hubs)] += count }
        return sums
    }

    /// Each customer's accounts as a range of indexes into all accounts (customer after customer).
    static func accountRanges(_ customers: [BenchCustomer]) -> [Range<Int>] {
        var start = 0
        return customers.map { customer in
            defer { start += customer.accounts.count }
            return start..<(start + customer.accounts.count)
        }
    }
}
