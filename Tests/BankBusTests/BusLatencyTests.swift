import BankBus
import Foundation
import NATSTestPeer
import Testing

/// A paced stream through a real nats-server: every message arrives, in order. The latency it prints is a
/// figure for docs/scaling.md section "Bus", not asserted (speed is proven in benchmarks, never in timed tests).
struct BusLatencyTests {
    static let messagesPerSecond = 5_000
    static let seconds = 3
    /// How long the receiver waits for the stream before giving up, so a lost message fails the test instead of
    /// hanging it. Generous: it bounds a hang, it does not measure speed.
    static let deliveryWaitSecondsMax = 60

    /// At 5,000 msgs/s for 3 s every message arrives exactly once and in publish order; latency is printed.
    @Test func everyMessageArrivesInOrderAtFiveThousandPerSecond() async throws {
        let peer = try await NATSPeer.start()
        let sender = try NATSConnection(.init(urls: [peer.url]))
        let receiver = try NATSConnection(.init(urls: [peer.url]))
        defer { sender.close(); receiver.close() }
        let subscription = try receiver.subscribe("latency")
        try receiver.flush()
        let total = Self.messagesPerSecond * Self.seconds
        let publisher = Thread { Self.publishPaced(sender, total: total) }
        publisher.start()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(Self.deliveryWaitSecondsMax))
            subscription.unsubscribe()
        }
        defer { watchdog.cancel() }
        var sequences: [UInt64] = []
        var latenciesNanoseconds: [UInt64] = []
        sequences.reserveCapacity(total)
        latenciesNanoseconds.reserveCapacity(total)
        for await message in subscription.messages {
            let received = DispatchTime.now().uptimeNanoseconds
            let (sent, sequence) = message.payload.withUnsafeBytes { bytes in
                (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                 bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            }
            sequences.append(sequence)
            latenciesNanoseconds.append(received - sent)
            if sequences.count == total { break }
        }
        #expect(sequences == Array(0..<UInt64(total)))
        Self.printLatency(latenciesNanoseconds)
    }

    /// p50, p99 and max in microseconds, for docs/scaling.md (record `uptime` load next to them).
    private static func printLatency(_ latenciesNanoseconds: [UInt64]) {
        guard !latenciesNanoseconds.isEmpty else { return }
        let sorted = latenciesNanoseconds.sorted()
        let count = sorted.count
        let p50 = sorted[count / 2] / 1_000
        let p99 = sorted[count * 99 / 100] / 1_000
        let max = sorted[count - 1] / 1_000
        print("bus latency \(messagesPerSecond) msgs/s x \(seconds) s (\(count) messages): "
              + "p50 \(p50) us, p99 \(p99) us, max \(max) us")
    }

    /// Publishes `total` 64-byte messages at `messagesPerSecond`, each starting with its send time and its index.
    private static func publishPaced(_ connection: NATSConnection, total: Int) {
        let start = DispatchTime.now().uptimeNanoseconds
        let intervalNanoseconds = UInt64(1_000_000_000 / messagesPerSecond)
        var payload = [UInt8](repeating: 0, count: 64)
        for index in 0..<total {
            let due = start + UInt64(index) * intervalNanoseconds
            let now = DispatchTime.now().uptimeNanoseconds
            if due > now { usleep(UInt32((due - now) / 1_000)) }
            let stamp = DispatchTime.now().uptimeNanoseconds
            payload.withUnsafeMutableBytes {
                $0.storeBytes(of: stamp, toByteOffset: 0, as: UInt64.self)
                $0.storeBytes(of: UInt64(index), toByteOffset: 8, as: UInt64.self)
            }
            // A failed publish leaves a hole in the sequence, which the receiver reports.
            try? connection.publish("latency", payload)
        }
        try? connection.flush()
    }
}
