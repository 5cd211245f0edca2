import ArgumentParser
import Foundation
import WebSocketClient

/// `bankhub-bench connections`: N authenticated, subscribed connections (one login, its token reused by
/// `auth` on every connection), the hub's resident memory per connection, and the time for one event to
/// reach all N. The hub runs as a `bankhub serve` child process so its memory is measured apart from the
/// client's.
struct ConnectionsScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections", abstract: "Hub RSS per subscribed connection and one event to all of them.")

    @OptionGroup var options: BenchOptions
    @Option(help: "Connections to open (each process may hold at most 20,000 files).") var count = 1_000

    func validate() throws {
        guard count > 0 else { throw ValidationError("count must be positive") }
    }

    func run() async throws {
        let target = try await BenchTarget.start(options)
        defer { target.removeFiles() }
        let loop = try WebSocketClientLoop(handshakeTimeout: .seconds(60))
        defer { loop.shutdown() }
        let customer = try await BenchSetup.customers(1, accounts: 1, depositCents: 0, address: target.address,
                                                      loop: loop)[0]
        let stream = "account:\(customer.accounts[0])"
        let sender = try await BenchSetup.authenticated(target.address, loop: loop, index: 0, token: customer.token)
        try await Task.sleep(for: .milliseconds(500))
        let baseline = target.residentBytes()
        Progress.line("opening \(count) subscribed connections (hub RSS before: \(baseline.map { "\($0 >> 10) KiB" } ?? "unknown"))")
        let tracker = StreamTracker(count: count)
        let opening = Nanoseconds.now()
        let opened = try await Subscribers.open(count, address: target.address, loop: loop, request: { _ in
            (customer.token, stream, nil)
        }, onFrame: tracker.handle)
        let openSeconds = Double(Nanoseconds.now() - opening) / 1e9
        try await Task.sleep(for: .seconds(1))
        let loaded = target.residentBytes()
        for (index, head) in opened.heads.enumerated() { tracker.expect(index, from: head, until: head + 1) }

        Progress.line("delivering one event to \(count) connections")
        let sent = Nanoseconds.now()
        // CPU in the delivery window, to tell the hub's part (one commit, the fan-out, 19,000 writes) from this
        // load generator's (19,000 reads) when the wall-clock figure is in question: both share two cores.
        let cpu = CPUWindow.begin(hub: target.separateProcessID)
        _ = try await sender.call("deposit", #"{"account":"\#(customer.accounts[0])","amount":"1.00"}"#)
        for _ in 0..<3_000 where tracker.caughtUpCount < count { try await Task.sleep(for: .milliseconds(10)) }
        let deliveryCPU = cpu.end()
        tracker.finish()
        let totals = tracker.totals(expectedEvents: count)
        let deliverMilliseconds = totals.caughtUp == count ? Double(totals.lastCaughtUpAt - sent) / 1e6 : -1
        for link in opened.links + [sender] { link.close() }
        let verdict = try await LedgerCheck.verify([customer], expectedCents: 100, target: target, loop: loop)
        await target.stop()

        var report = BenchReport(scenario: "connections")
        report.add("target", target.label)
        report.add("count", count)
        report.add("open_s", openSeconds, decimals: 2)
        if let baseline, let loaded {
            report.add("hub_rss_before_kib", baseline >> 10)
            report.add("hub_rss_after_kib", loaded >> 10)
            report.add("rss_per_connection_kib", Double(loaded - baseline) / 1_024 / Double(count), decimals: 2)
        }
        report.add("deliver_all_ms", deliverMilliseconds)
        // Clock ticks of /proc/PID/stat: 10 ms resolution.
        if let hubSeconds = deliveryCPU.hubSeconds { report.add("deliver_all_hub_cpu_ms", hubSeconds * 1_000) }
        if let benchSeconds = deliveryCPU.benchSeconds {
            report.add("deliver_all_bench_cpu_ms", benchSeconds * 1_000)
        }
        report.add("received", totals.caughtUp)
        report.add("missing", count - totals.caughtUp)
        report.add("out_of_order", totals.outOfOrder)
        report.addErrors(totals.closedEarly > 0 ? ["closed_early": totals.closedEarly] : [:])
        verdict.add(to: &report)
        report.print(json: options.json)
        if totals.caughtUp < count || totals.outOfOrder > 0 || !verdict.holds { throw ExitCode(2) }
    }
}
