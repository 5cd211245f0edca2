import Synchronization

/// Counters of the transport's defensive actions, for logs and a later /metrics (e.g.
/// `bankhub_slow_consumer_closes_total`). Any thread may read them; they only grow.
public final class TransportStatistics: Sendable {
    private let slowConsumerCloseCount = Atomic<Int>(0)
    private let forcedCloseCount = Atomic<Int>(0)
    private let refusedHandshakeCount = Atomic<Int>(0)
    private let limitRefusalCount = Atomic<Int>(0)

    public init() {}

    /// Connections closed with 4008 because their outbound queue overflowed.
    public var slowConsumerCloses: Int { slowConsumerCloseCount.load(ordering: .relaxed) }
    /// Connections dropped by the transport because their close did not finish within `closeTimeoutSeconds`.
    public var forcedCloses: Int { forcedCloseCount.load(ordering: .relaxed) }
    /// Upgrades refused with 403 (wrong path, foreign Host or foreign Origin).
    public var refusedHandshakes: Int { refusedHandshakeCount.load(ordering: .relaxed) }
    /// Upgrades refused with 503 because `connectionsMax` or `connectionsPerAddressMax` was reached.
    public var connectionLimitRefusals: Int { limitRefusalCount.load(ordering: .relaxed) }

    func countSlowConsumerClose() { slowConsumerCloseCount.add(1, ordering: .relaxed) }
    func countForcedClose() { forcedCloseCount.add(1, ordering: .relaxed) }
    func countRefusedHandshake() { refusedHandshakeCount.add(1, ordering: .relaxed) }
    func countLimitRefusal() { limitRefusalCount.add(1, ordering: .relaxed) }
}
