import BankWire
import Foundation
import Testing
import WebSocketClient

/// A subscriber that stops reading a busy stream is cut off within seconds (close 4008) while the other
/// subscribers keep receiving every event, and it can come back and resume with `since`, with no gap.
///
/// The hub sends a resume's replay in one burst, which must fit the outbound queue; with this test's small
/// queue that holds for the quiet stream it resumes (production: 8 MiB against a replay of at most 10,000
/// events).
@Suite(.serialized) struct SlowConsumerTests {
    static let deposits = 1_500

    @Test func stalledSubscriberIsCutOffAndResumesWithoutGap() async throws {
        try await TestHub.with(configure: {
            $0.transport.outboundQueueBytesMax = 64 * 1_024
            $0.transport.socketSendBufferBytes = 16 * 1_024
        }) { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            let stream = "account:\(alice.account)"
            let quietAccount = try await alice.client.ok("open_account", ["name": "Quiet"])["account"]?["id"]?.stringValue ?? ""
            let quiet = "account:\(quietAccount)"
            let slow = try await WebSocketConnection.connect(port: hub.port, path: "/ws", subprotocol: "bankhub.v1",
                                                             receiveBufferBytes: 4_096)
            let slowClient = HubClient(slow)
            _ = try await slowClient.ok("auth", ["token": .string(alice.token)])
            _ = try await slowClient.ok("subscribe", ["stream": .string(stream)])
            _ = try await slowClient.ok("subscribe", ["stream": .string(quiet)])
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
                ids.append(try await alice.client.send("deposit", ["account": .string(quietAccount), "amount": "1.00"]))
                for id in ids { _ = try await alice.client.reply(to: id) }
            }
            let quietEvents = Int64(Self.deposits / 50)
            let finishedAt = ContinuousClock.now
            // Over every hub of the test (in the pair run the stalled subscriber is on the second one).
            let transports = hub.servers.map(\.transport)
            func connections() -> Int { transports.map(\.connectionCount).reduce(0, +) }
            while connections() > 2 && ContinuousClock.now - finishedAt < .seconds(10) {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(connections() == 2, "the stalled subscriber is still connected")
            #expect(ContinuousClock.now - finishedAt < .seconds(8))
            #expect(transports.map(\.statistics.slowConsumerCloses).reduce(0, +) == 1)

            let received = try await steadyEvents.value
            #expect(received.compactMap { $0["seq"]?.int64Value } == (1...Int64(Self.deposits)).map { $0 })

            slow.resumeReading()
            var lastSeen: Int64 = 0
            var lastQuietSeen: Int64 = 0
            var sawEnd = false
            while !sawEnd {
                switch try await slow.receive(timeout: .seconds(5)) {
                case .text(let text):
                    let event = try JSONParser.parse(text)
                    guard let seq = event["seq"]?.int64Value else { break }
                    if event["stream"]?.stringValue == quiet { lastQuietSeen = seq } else { lastSeen = seq }
                case .close(let code, _):
                    #expect(code == 4008 || code == 1006, "closed with \(code)")
                    sawEnd = true
                default:
                    break
                }
            }
            #expect(lastSeen < Int64(Self.deposits), "the stalled subscriber was not cut off before the end")
            #expect(lastQuietSeen < quietEvents)

            let back = try await hub.client()
            _ = try await back.ok("auth", ["token": .string(alice.token)])
            _ = try await back.ok("subscribe", ["stream": .string(quiet), "since": .integer(lastQuietSeen)])
            let missed = try await back.events(Int(quietEvents - lastQuietSeen))
            #expect(missed.compactMap { $0["seq"]?.int64Value } == ((lastQuietSeen + 1)...quietEvents).map { $0 })
            #expect(missed.allSatisfy { $0["stream"]?.stringValue == quiet })
        }
    }
}
