import BankWire
import Foundation
import Testing
import WebSocketClient

/// A subscriber that stops reading a busy stream is cut off within seconds (close 4008) while the other
/// subscribers keep receiving every event, and it can come back and resume with `since`, with no gap.
@Suite(.serialized) struct SlowConsumerTests {
    static let deposits = 600

    @Test func stalledSubscriberIsCutOffAndResumesWithoutGap() async throws {
        try await TestHub.with(configure: {
            $0.transport.outboundQueueBytesMax = 64 * 1_024
            $0.transport.socketSendBufferBytes = 16 * 1_024
        }) { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            let stream = "account:\(alice.account)"
            let slow = try await WebSocketConnection.connect(port: hub.port, path: "/ws", subprotocol: "bankhub.v1",
                                                             receiveBufferBytes: 4_096)
            let slowClient = HubClient(slow)
            _ = try await slowClient.ok("auth", ["token": .string(alice.token)])
            _ = try await slowClient.ok("subscribe", ["stream": .string(stream)])
            let steady = try await hub.client()
            _ = try await steady.ok("auth", ["token": .string(alice.token)])
            _ = try await steady.ok("subscribe", ["stream": .string(stream)])
            // The steady subscriber reads all along, as a live screen would.
            let steadyEvents = Task { try await steady.events(Self.deposits, timeout: .seconds(20)) }
            slow.suspendReading()

            for batch in 0..<(Self.deposits / 50) {
                var ids: [Int] = []
                for index in 0..<50 {
                    ids.append(try await alice.client.send("deposit", ["account": .string(alice.account),
                                                                       "amount": .string("\(batch * 50 + index + 1).00")]))
                }
                for id in ids { _ = try await alice.client.reply(to: id) }
            }
            let finishedAt = ContinuousClock.now
            let transport = hub.server.transport
            while transport.connectionCount > 2 && ContinuousClock.now - finishedAt < .seconds(10) {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(transport.connectionCount == 2, "the stalled subscriber is still connected")
            #expect(ContinuousClock.now - finishedAt < .seconds(8))
            #expect(transport.statistics.slowConsumerCloses == 1)

            let received = try await steadyEvents.value
            #expect(received.compactMap { $0["seq"]?.int64Value } == (1...Int64(Self.deposits)).map { $0 })

            slow.resumeReading()
            var lastSeen: Int64 = 0
            var sawEnd = false
            while !sawEnd {
                switch try await slow.receive(timeout: .seconds(5)) {
                case .text(let text):
                    if let seq = try JSONParser.parse(text)["seq"]?.int64Value { lastSeen = seq }
                case .close(let code, _):
                    #expect(code == 4008 || code == 1006, "closed with \(code)")
                    sawEnd = true
                default:
                    break
                }
            }
            #expect(lastSeen < Int64(Self.deposits), "the stalled subscriber was not cut off before the end")

            let back = try await hub.client()
            _ = try await back.ok("auth", ["token": .string(alice.token)])
            _ = try await back.ok("subscribe", ["stream": .string(stream), "since": .integer(lastSeen)])
            let missed = try await back.events(Self.deposits - Int(lastSeen))
            #expect(missed.compactMap { $0["seq"]?.int64Value } == ((lastSeen + 1)...Int64(Self.deposits)).map { $0 })
        }
    }
}
