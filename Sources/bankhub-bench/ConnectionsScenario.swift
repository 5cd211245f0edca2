import ArgumentParser
import Foundation
import WebSocketClient

/// `bankhub-bench connections`: N authenticated, subscribed connections (one login, its token reused by
/// `auth` on every connection), the hub's resident memory per connection, and the time for one event to
/// reach all N. The hub runs as a `bankhub serve` child process so its memory is measured apart from the
/// client's.
///
/// With several `--url`s the connections go round robin over the hubs (the deposit is sent to the first, so
/// two thirds of the frames of three hubs crossed the bus) and each hub's RSS is reported. A process here holds
/// at most 20,000 files, so `--processes P` splits the connections over P copies of this executable (parts,
/// ``ConnectionParts``), each opening its slice and timing its own last delivery on the machine's monotonic
/// clock; the time to reach all is from the deposit sent to the last part's last delivery.
struct ConnectionsScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections", abstract: "Hub RSS per subscribed connection and one event to all of them.")

    @OptionGroup var options: BenchOptions
    @Option(help: "Connections to open (each process may hold at most 20,000 files: see --processes).") var count = 1_000
    @Option(help: "Load-generating processes the connections are split over (50,000 need 3 here).")
    var processes = 1
    /// The seconds a delivery may take before the connections still waiting count as missing.
    static let deliverSecondsMax = 30

    // One part of a run of several processes (started by the run, not by people).
    @Flag(help: .hidden) var part = false
    @Option(help: .hidden) var stream: String?
    @Option(help: .hidden) var firstIndex = 0
    @Option(help: .hidden) var addressOffset = 0

    func validate() throws {
        guard count > 0, (1...ConnectionParts.processesMax).contains(processes), processes <= count else {
            throw ValidationError("count must be positive, processes 1...\(ConnectionParts.processesMax) and at most count")
        }
        if part, options.url.isEmpty || stream == nil || ConnectionParts.partToken == nil {
            throw ValidationError("a part needs --url, --stream and \(ConnectionParts.tokenVariable)")
        }
    }

    func run() async throws {
        if part, let token = ConnectionParts.partToken, let stream {
            return try await ConnectionParts.runPart(count: count, hubs: options.url.map(HubAddress.init(url:)),
                                                     firstIndex: firstIndex, addressOffset: addressOffset,
                                                     token: token, stream: stream)
        }
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
        Progress.line("opening \(count) subscribed connections over \(target.hubs.count) hub(s) from \(processes) "
                      + "process(es) (hub RSS before: \(Self.kibText(baseline)))")
        let opening = Nanoseconds.now()
        let held: HeldConnections
        if processes == 1 {
            held = .local(try await LocalConnections.open(count, hubs: target.hubs, token: customer.token,
                                                          stream: stream, loop: loop))
        } else {
            let parts = try ConnectionParts.start(count: count, processes: processes, hubs: target.hubs,
                                                  token: customer.token, stream: stream)
            held = .parts(parts)
            do { try await parts.waitUntilReady() } catch {
                parts.stop()
                throw error
            }
        }
        let openSeconds = Double(Nanoseconds.now() - opening) / 1e9
        try await Task.sleep(for: .seconds(1))
        let loaded = target.residentBytes()

        Progress.line("delivering one event to \(count) connections")
        let sent = Nanoseconds.now()
        // CPU in the delivery window, to tell the hub's part (one commit, the fan-out, 19,000 writes) from this
        // load generator's (19,000 reads) when the wall-clock figure is in question: both share two cores.
        let cpu = CPUWindow.begin(hubs: target.separateProcessIDs)
        let delivery: Delivery
        switch held {
        case .local(let local):
            _ = try await sender.call("deposit", #"{"account":"\#(customer.accounts[0])","amount":"1.00"}"#)
            delivery = await local.awaitDelivery()
        case .parts(let parts):
            parts.go()
            do {
                _ = try await sender.call("deposit", #"{"account":"\#(customer.accounts[0])","amount":"1.00"}"#)
                delivery = try await parts.awaitDelivery()
            } catch {
                parts.stop()
                throw error
            }
        }
        let deliveryCPU = cpu.end()
        let deliverMilliseconds = delivery.caughtUp == count ? Double(delivery.lastCaughtUpAt - sent) / 1e6 : -1
        sender.close()
        let verdict = try await LedgerCheck.verify([customer], expectedCents: 100, target: target, loop: loop)
        await target.stop()

        var report = BenchReport(scenario: "connections")
        report.add("target", target.label)
        report.add("count", count)
        if target.hubs.count > 1 || processes > 1 {
            report.add("hubs", target.hubs.count)
            report.add("processes", processes)
            report.add("connections_per_hub", HubSpread.counts(count, hubs: target.hubs.count).map(String.init)
                .joined(separator: " "))
        }
        report.add("open_s", openSeconds, decimals: 2)
        Self.addMemory(before: baseline, after: loaded, count: count, to: &report)
        report.add("deliver_all_ms", deliverMilliseconds)
        // Clock ticks of /proc/PID/stat: 10 ms resolution.
        if let hubSeconds = deliveryCPU.hubSeconds { report.add("deliver_all_hub_cpu_ms", hubSeconds * 1_000) }
        if let benchSeconds = deliveryCPU.benchSeconds {
            report.add("deliver_all_bench_cpu_ms", benchSeconds * 1_000)
        }
        report.add("received", delivery.caughtUp)
        report.add("missing", count - delivery.caughtUp)
        report.add("out_of_order", delivery.outOfOrder)
        report.addErrors(delivery.closedEarly > 0 ? ["closed_early": delivery.closedEarly] : [:])
        verdict.add(to: &report)
        report.print(json: options.json)
        if delivery.caughtUp < count || delivery.outOfOrder > 0 || !verdict.holds { throw ExitCode(2) }
    }

    /// One hub: `hub_rss_before_kib`, `hub_rss_after_kib`. Several: `hub1_rss_before_kib`, `hub1_rss_after_kib`,
    /// … in the order of `--url`. Then `rss_per_connection_kib`: what all of them grew by, per connection.
    private static func addMemory(before: [Int?], after: [Int?], count: Int, to report: inout BenchReport) {
        let known = zip(before, after).compactMap { pair -> (Int, Int)? in
            guard let before = pair.0, let after = pair.1 else { return nil }
            return (before, after)
        }
        guard !known.isEmpty, known.count == before.count else { return }
        for (index, (before, after)) in known.enumerated() {
            let name = known.count == 1 ? "hub" : "hub\(index + 1)"
            report.add("\(name)_rss_before_kib", before >> 10)
            report.add("\(name)_rss_after_kib", after >> 10)
        }
        let grown = known.reduce(0) { $0 + $1.1 - $1.0 }
        report.add("rss_per_connection_kib", Double(grown) / 1_024 / Double(count), decimals: 2)
    }

    private static func kibText(_ bytes: [Int?]) -> String {
        bytes.isEmpty ? "unknown" : bytes.map { $0.map { "\($0 >> 10) KiB" } ?? "unknown" }.joined(separator: ", ")
    }
}

/// Where the measured connections are held: in this process, or in part processes.
private enum HeldConnections {
    case local(LocalConnections)
    case parts(ConnectionParts)
}

/// What the measured connections saw of the one event.
struct Delivery: Sendable {
    let caughtUp: Int
    /// When the last connection to see the event saw it (monotonic nanoseconds, the same clock in every process).
    let lastCaughtUpAt: UInt64
    let outOfOrder: Int
    let closedEarly: Int
}

/// The connections opened in this process (`--processes 1`).
struct LocalConnections: Sendable {
    let tracker: StreamTracker
    let opened: Subscribers.Opened

    /// Opens `count` connections round robin over `hubs`, each subscribed to `stream`, each expecting one event
    /// after the head its subscribe answered.
    static func open(_ count: Int, hubs: [HubAddress], firstIndex: Int = 0, addressOffset: Int = 0, token: String,
                     stream: String, loop: WebSocketClientLoop) async throws -> LocalConnections {
        let tracker = StreamTracker(count: count)
        let opened = try await Subscribers.open(count, spreadOver: hubs, firstIndex: firstIndex, loop: loop,
                                                addressOffset: addressOffset, request: { _ in (token, stream, nil) },
                                                onFrame: tracker.handle)
        for (index, head) in opened.heads.enumerated() { tracker.expect(index, from: head, until: head + 1) }
        return LocalConnections(tracker: tracker, opened: opened)
    }

    /// Waits until every connection saw the event (at most ``ConnectionsScenario/deliverSecondsMax``), then
    /// closes them.
    func awaitDelivery() async -> Delivery {
        let count = opened.links.count
        for _ in 0..<(ConnectionsScenario.deliverSecondsMax * 100) where tracker.caughtUpCount < count {
            try? await Task.sleep(for: .milliseconds(10))
        }
        tracker.finish()
        let totals = tracker.totals(expectedEvents: count)
        for link in opened.links { link.close() }
        return Delivery(caughtUp: totals.caughtUp, lastCaughtUpAt: totals.lastCaughtUpAt,
                        outOfOrder: totals.outOfOrder, closedEarly: totals.closedEarly)
    }
}
