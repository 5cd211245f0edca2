import BankCrypto
@testable import BankHub
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
