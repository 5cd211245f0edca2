import ArgumentParser
import Foundation
import Synchronization
import WebSocketClient

/// `bankhub-bench peer-fanout`: the `fanout` measurement against nginx with nchan (bench/compare.sh starts
/// it), so the two can be compared on one machine in one run. One channel per subscriber; message `k` goes to
/// channel `k % subscribers` through that channel's WebSocket publisher, paced like `fanout`, and carries `k`
/// so the subscriber can look up when it was due. nchan commits nothing; the hub's figure includes an fsync.
struct PeerFanoutScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer-fanout", abstract: "Publish-to-subscriber latency of nginx+nchan (for bench/compare.sh).")

    @Option(help: "nchan's base URL: subscribers at BASE/sub/ID, publishers at BASE/pub/ID.") var url: String
    @Option(help: "Subscriber connections, one channel each.") var subscribers = 1_000
    @Option(help: "Messages per second, paced (open loop).") var rate = 5_000.0
    @Option(help: "Seconds to measure (after the warm-up).") var duration = 10.0
    @Option(help: "Seconds of load before measuring starts.") var warmup = 1.0
    @Flag(help: "Print one JSON object on the last line.") var json = false

    func run() async throws {
        let base = try HubAddress(url: url)
        let loop = try WebSocketClientLoop(handshakeTimeout: .seconds(30))
        defer { loop.shutdown() }
        let total = Int(rate * (warmup + duration))
        let tracker = PeerTracker(messages: total)
        var subscriberLinks: [BenchLink] = []
        var publisherLinks: [BenchLink] = []
        for channel in 0..<subscribers {
            let subscriberAddress = HubAddress(host: base.host, port: base.port, path: "/sub/c\(channel)")
            let publisherAddress = HubAddress(host: base.host, port: base.port, path: "/pub/c\(channel)")
            subscriberLinks.append(try await BenchLink.open(subscriberAddress, loop: loop, index: channel, raw: tracker.receive))
            publisherLinks.append(try await BenchLink.open(publisherAddress, loop: loop, index: channel, raw: { _, _ in }))
        }
        Progress.line("pacing \(rate) messages/s to \(subscribers) nchan subscribers for \(warmup)+\(duration) s")
        let links = publisherLinks
        let pacer = Pacer(rate: rate, seconds: warmup + duration) { k, dueAt in
            tracker.sent(k, dueAt: dueAt)
            links[k % links.count].send(String(k))
        }
        let started = pacer.start()
        try await Task.sleep(for: .seconds(warmup))
        tracker.beginMeasuring(at: started + UInt64(warmup * 1e9))
        await pacer.finished()
        tracker.recorder.stop()
        for _ in 0..<300 where tracker.received < total { try await Task.sleep(for: .milliseconds(10)) }
        for link in subscriberLinks + publisherLinks { link.close() }

        var report = BenchReport(scenario: "peer-fanout")
        report.add("target", url)
        report.add("subscribers", subscribers)
        report.add("rate", rate, decimals: 1)
        report.add("duration_s", duration, decimals: 1)
        report.add("sent", total)
        report.addLatency(tracker.recorder.summary)
        report.addErrors(tracker.recorder.errors)
        report.add("missing", total - tracker.received)
        report.print(json: json)
    }
}

/// Pairs each received message number with when it was due.
final class PeerTracker: Sendable {
    private struct State {
        var dueAt: [UInt64]
        var received = 0
        var measureFrom: UInt64 = .max
    }

    private let state: Mutex<State>
    let recorder = LatencyRecorder()

    init(messages: Int) {
        state = Mutex(State(dueAt: Array(repeating: 0, count: messages)))
    }

    func sent(_ k: Int, dueAt: UInt64) {
        state.withLock { $0.dueAt[k] = dueAt }
    }

    func beginMeasuring(at instant: UInt64) {
        recorder.reset()
        state.withLock { $0.measureFrom = instant }
    }

    var received: Int { state.withLock { $0.received } }

    func receive(_ index: Int, _ text: String) {
        let now = Nanoseconds.now()
        guard let k = Int(text) else { return recorder.recordError("unexpected_message") }
        let due = state.withLock { state -> UInt64? in
            guard k >= 0, k < state.dueAt.count else { return nil }
            state.received += 1
            return state.dueAt[k] >= state.measureFrom ? state.dueAt[k] : nil
        }
        if let due { recorder.record(from: due, to: now) }
    }
}
