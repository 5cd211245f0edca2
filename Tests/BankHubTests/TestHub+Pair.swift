import BankCrypto
@testable import BankHub
import BankWire
import Foundation
import NATSTestPeer

/// The pair run's bus (`BANKHUB_TEST_DATABASE=postgres-pair`): each `TestHub` is two hubs in several-hub mode
/// on its fresh PostgreSQL database, joined by a real nats-server as `serve --database URL --bus nats://…`
/// joins them, with one code key and one bus key.
///
/// One nats-server per pair, not per test process: subjects are named by stream only (`bank.events.account:1001`),
/// and every pair's database numbers its accounts from the same start, so pairs sharing a server would receive
/// each other's events (dropped by the seal check, each drop costing a read of the stream from the database).
final class TestBus: Sendable {
    private let peer: NATSPeer
    /// The key both hubs seal their bus messages with.
    private let key = Hex.encode(SecureRandom.bytes(BusEventSeal.keyBytesMin))

    private init(peer: NATSPeer) {
        self.peer = peer
    }

    /// Starts the pair's nats-server.
    static func start() async throws -> TestBus {
        TestBus(peer: try await NATSPeer.start())
    }

    /// Puts the first hub's `options` on the bus (before the test's own `configure`, which may change them).
    func join(_ options: inout HubServer.Options) {
        var bus = HubBusOptions(urls: [peer.url])
        bus.keyHex = key
        bus.name = "bankhub-test-a"
        options.bus = bus
    }

    /// The options of both hubs: the first hub's (configured by the test), and the same for the second except
    /// that it runs no outbox worker (claims are not across hubs yet, docs/scaling.md: one hub of a cluster
    /// sends, the others pass `--no-outbox-worker`).
    func pair(_ first: HubServer.Options) -> [HubServer.Options] {
        var second = first
        second.notifications.outboxWorker = false
        second.bus?.name = "bankhub-test-b"
        return [first, second]
    }

    func stop() {
        peer.stop()
    }
}

extension TestHub {
    /// The event streams (`/api/v1/streams/…`) open on all of this test's hubs together.
    func eventStreamCount() async -> Int {
        var count = 0
        for server in servers { count += await server.hub.eventStreamIDs().count }
        return count
    }
}

extension HubClient {
    /// The error code `op` answers with once a revocation made through another connection (logout, password
    /// change or reset, role change) has reached this connection's hub; nil when `op` succeeds. In the pair run
    /// `op` is asked again until it answers `expected`, for up to 5 s: a hub applies the other hub's revocations
    /// every `revocationPollMilliseconds` (250 ms) plus one read (docs/scaling.md, "Shared state"). On one hub it
    /// is asked once, as a revocation is applied there before its reply.
    func code(afterRevocation op: String, _ args: JSONValue = [:], expected: String?) async throws -> String? {
        let deadline = ContinuousClock.now + (TestDatabase.isPair ? .seconds(5) : .zero)
        while true {
            let code = try await request(op, args)["error"]?["code"]?.stringValue
            if code == expected || ContinuousClock.now >= deadline { return code }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

extension HubClient {
    /// The `count` events of one commit on `streams` (one or more on each), in the order one hub sends them:
    /// stream by stream as listed (`account:` before `user:` for a money operation). In the pair run the commit
    /// may have been made on the other hub, whose events come over the bus on one subject per stream: each
    /// stream's stay in order, but not the streams among themselves, so they are put in `streams` order here.
    func events(_ count: Int, ofOneCommitOn streams: [String],
                timeout: Duration = .seconds(5)) async throws -> [JSONValue] {
        let events = try await self.events(count, timeout: timeout)
        guard TestDatabase.isPair else { return events }
        let rank = { (event: JSONValue) in streams.firstIndex(of: event["stream"]?.stringValue ?? "") ?? streams.count }
        return events.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
    }
}
