import ArgumentParser
import Foundation
import WebSocketClient

/// `bankhub-bench reconnect`: N subscribed clients drop at once, transfers happen while they are away, then
/// all of them reconnect, `auth`, and resubscribe with `since` = the last seq they saw. Measures the time
/// from the first reconnect until every client has caught up with its stream's head, nothing lost.
struct ReconnectScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconnect", abstract: "Reconnect storm: all clients resume from their last seq at once.")

    @OptionGroup var options: BenchOptions
    @Option(help: "Clients that drop and resume (with --in-process fewer than ~9,000: a process holds at most 20,000 files).")
    var clients = 1_000
    @Option(help: "Accounts (streams) the clients are spread over (at most 19: the one customer's opened accounts).")
    var streams = BenchSetup.accountsPerCustomerMax
    @Option(help: "Transfers committed while the clients are away.") var missedTransfers = 100

    static let depositCents: Int64 = 100_000_000

    func validate() throws {
        guard clients > 0, (2...BenchSetup.accountsPerCustomerMax).contains(streams), missedTransfers >= 0 else {
            let streamsMax = BenchSetup.accountsPerCustomerMax
            throw ValidationError("clients must be positive, streams 2...\(streamsMax), missed-transfers not negative")
        }
    }

    func run() async throws {
        let target = try await BenchTarget.start(options)
        defer { target.removeFiles() }
        let loop = try WebSocketClientLoop(handshakeTimeout: .seconds(60))
        defer { loop.shutdown() }
        let customer = try await BenchSetup.customers(1, accounts: streams, depositCents: Self.depositCents,
                                                      address: target.address, loop: loop)[0]
        let accounts = customer.accounts
        let firstWave = StreamTracker(count: clients)
        Progress.line("opening \(clients) subscribed clients over \(streams) streams")
        let first = try await Subscribers.open(clients, address: target.address, loop: loop, request: { index in
            (customer.token, "account:\(accounts[index % accounts.count])", nil)
        }, onFrame: firstWave.handle)
        firstWave.finish()
        for link in first.links { link.close() }

        Progress.line("committing \(missedTransfers) transfers while they are away")
        let sender = try await BenchSetup.authenticated(target.address, loop: loop, index: 0, token: customer.token)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for k in 0..<missedTransfers {
                let count = accounts.count
                let from = accounts[k % count]
                let to = accounts[(k % count + 1 + (k / count) % (count - 1)) % count]
                group.addTask { _ = try await sender.call("transfer", #"{"from":"\#(from)","to":"\#(to)","amount":"0.01"}"#) }
            }
            try await group.waitForAll()
        }

        Progress.line("reconnecting \(clients) clients with since")
        let tracker = StreamTracker(count: clients)
        for (index, head) in first.heads.enumerated() { tracker.start(index, from: head) }
        let started = Nanoseconds.now()
        let second = try await Subscribers.open(clients, address: target.address, loop: loop,
                                                addressOffset: (clients + Subscribers.perSourceAddress - 1) / Subscribers.perSourceAddress,
                                                request: { index in
            (customer.token, "account:\(accounts[index % accounts.count])", first.heads[index])
        }, onFrame: tracker.handle)
        for (index, head) in second.heads.enumerated() { tracker.expect(index, until: head) }
        for _ in 0..<6_000 where tracker.caughtUpCount < clients { try await Task.sleep(for: .milliseconds(10)) }
        tracker.finish()
        let expected = zip(first.heads, second.heads).reduce(0) { $0 + Int($1.1 - $1.0) }
        let totals = tracker.totals(expectedEvents: expected)
        let seconds = totals.caughtUp == clients ? Double(max(totals.lastCaughtUpAt, started) - started) / 1e9 : -1
        for link in second.links + [sender] { link.close() }
        let verdict = try await LedgerCheck.verify([customer], expectedCents: Int64(streams) * Self.depositCents,
                                                   target: target, loop: loop)
        await target.stop()

        var report = BenchReport(scenario: "reconnect")
        report.add("target", target.label)
        report.add("clients", clients)
        report.add("streams", streams)
        report.add("missed_transfers", missedTransfers)
        report.add("caught_up_s", seconds, decimals: 3)
        report.add("clients_per_s", seconds > 0 ? Double(clients) / seconds : 0, decimals: 1)
        report.add("replayed_events", totals.received)
        report.add("expected_events", expected)
        report.add("caught_up", totals.caughtUp)
        report.add("missing", totals.missing + (clients - totals.caughtUp))
        report.add("out_of_order", totals.outOfOrder)
        report.addErrors(totals.closedEarly > 0 ? ["closed_early": totals.closedEarly] : [:])
        verdict.add(to: &report)
        report.print(json: options.json)
        if totals.caughtUp < clients || totals.missing > 0 || totals.outOfOrder > 0 || !verdict.holds { throw ExitCode(2) }
    }
}
