import ArgumentParser
import Foundation
import WebSocketClient

/// `bankhub-bench transfers`: closed-loop durable transfers; committed transfers/s, request-to-reply latency,
/// errors by code, then a check that no money was created or lost.
struct TransfersScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfers", abstract: "Committed transfers/s and request-to-reply latency.")

    @OptionGroup var options: BenchOptions
    @Option(help: "Seconds to measure (after the warm-up).") var duration = 10.0
    @Option(help: "Seconds of load before measuring starts.") var warmup = 1.0
    @Option(help: "WebSocket connections, each logged in as its own customer.") var connections = 16
    @Option(help: "Transfers outstanding per connection.") var inFlight = 64
    @Option(help: "Accounts (at most 19 per customer besides its sign-up account; more accounts means more customers).") var accounts = 1_000
    @Option(help: "Zipf exponent for picking accounts (0 = uniform; 1 = a few hot accounts).") var zipf = 0.0

    static let depositCents: Int64 = 100_000_000

    func validate() throws {
        guard duration > 0, warmup >= 0, connections > 0, inFlight > 0, zipf >= 0 else {
            throw ValidationError("duration, connections and in-flight must be positive")
        }
        guard inFlight <= 1_024 else { throw ValidationError("the hub allows at most 1,024 requests in flight") }
    }

    func run() async throws {
        let target = try await BenchTarget.start(options)
        defer { target.removeFiles() }
        let loop = try WebSocketClientLoop()
        defer { loop.shutdown() }
        let accountCount = max(accounts, connections)
        let customerCount = max(connections, (accountCount + BenchSetup.accountsPerCustomerMax - 1) / BenchSetup.accountsPerCustomerMax)
        Progress.line("setting up \(customerCount) customers with \(accountCount) accounts on \(target.address.host):\(target.address.port)")
        let customers = try await BenchSetup.customers(customerCount, accounts: accountCount,
                                                       depositCents: Self.depositCents, address: target.address,
                                                       loop: loop)
        let load = TransferLoad(plan: .init(payerAccounts: (0..<connections).map { customers[$0 % customerCount].accounts },
                                            allAccounts: customers.flatMap(\.accounts), inFlight: inFlight,
                                            skew: zipf, amountCentsMax: 100))
        var links: [BenchLink] = []
        for index in 0..<connections {
            links.append(try await BenchSetup.authenticated(target.address, loop: loop, index: index,
                                                            token: customers[index % customerCount].token,
                                                            onFrame: load.handle))
        }
        Progress.line("running \(connections) connections x \(inFlight) in flight for \(warmup)+\(duration) s")
        load.start(links)
        try await Task.sleep(for: .seconds(warmup))
        let committedBefore = load.beginMeasuring()
        let started = Nanoseconds.now()
        try await Task.sleep(for: .seconds(duration))
        load.stop()
        let elapsed = Double(Nanoseconds.now() - started) / 1e9
        let committed = load.committed - committedBefore
        let unanswered = await load.drain(timeoutSeconds: 30)
        Progress.line("checking the ledger")
        let verdict = try await LedgerCheck.verify(customers, expectedCents: Int64(accountCount) * Self.depositCents,
                                                   target: target, loop: loop)
        for link in links { link.close() }
        await target.stop()

        var report = BenchReport(scenario: "transfers")
        report.add("target", target.kind == .external ? options.url ?? "" : "in-process")
        report.add("duration_s", duration, decimals: 1)
        report.add("connections", connections)
        report.add("in_flight", inFlight)
        report.add("accounts", accountCount)
        report.add("zipf", zipf, decimals: 2)
        report.add("tps", Double(committed) / elapsed, decimals: 1)
        report.add("committed", committed)
        report.addLatency(load.recorder.summary)
        report.addErrors(load.recorder.errors)
        report.add("missing", unanswered)
        verdict.add(to: &report)
        report.print(json: options.json)
        if !verdict.holds || unanswered > 0 { throw ExitCode(2) }
    }
}
