import Synchronization

/// Counters of the transport's defensive actions and of its writes, for logs and a later /metrics (e.g.
/// `bankhub_slow_consumer_closes_total`). Any thread may read them; they only grow.
public final class TransportStatistics: Sendable {
    private let slowConsumerCloseCount = Atomic<Int>(0)
    private let forcedCloseCount = Atomic<Int>(0)
    private let refusedHandshakeCount = Atomic<Int>(0)
    private let limitRefusalCount = Atomic<Int>(0)
    private let framesWrittenCount = Atomic<Int>(0)
    private let writeCallbackCount = Atomic<Int>(0)
    private let framesPerCallbackMax = Atomic<Int>(0)
    private let serviceWakeCount = Atomic<Int>(0)
    private let writeOnWakeCount = Atomic<Int>(0)
    private let listenerWakeCount = Atomic<Int>(0)
    private let acceptResourceFailureCount = Atomic<Int>(0)
    private let acceptBackoffCount = Atomic<Int>(0)

    public init() {}

    /// Connections closed with 4008 because their outbound queue overflowed.
    public var slowConsumerCloses: Int { slowConsumerCloseCount.load(ordering: .relaxed) }
    /// Connections dropped by the transport because their close did not finish within `closeTimeoutSeconds`.
    public var forcedCloses: Int { forcedCloseCount.load(ordering: .relaxed) }
    /// Upgrades refused with 403 (wrong path, foreign Host or foreign Origin).
    public var refusedHandshakes: Int { refusedHandshakeCount.load(ordering: .relaxed) }
    /// Upgrades refused with 503 because `connectionsMax` or `connectionsPerAddressMax` was reached.
    public var connectionLimitRefusals: Int { limitRefusalCount.load(ordering: .relaxed) }

    /// WebSocket messages handed to lws (each one frame), all connections together.
    public var framesWritten: Int { framesWrittenCount.load(ordering: .relaxed) }
    /// WebSocket writeable callbacks that wrote at least one message; `framesWritten` divided by this is the
    /// mean number of messages written per callback.
    public var writeCallbacks: Int { writeCallbackCount.load(ordering: .relaxed) }
    /// The most messages one writeable callback wrote to one connection (at most 32, `framesPerCallbackMax`).
    public var framesWrittenPerCallbackMax: Int { framesPerCallbackMax.load(ordering: .relaxed) }
    /// Times another thread woke the service thread (`lws_cancel_service`); a burst of sends wakes it once.
    public var serviceWakes: Int { serviceWakeCount.load(ordering: .relaxed) }
    /// Of `writeCallbacks`, those written by the woken service thread itself, without waiting for lws to call
    /// back when the socket is writeable (see `ServerCore.writeOnWake`).
    public var writesOnWake: Int { writeOnWakeCount.load(ordering: .relaxed) }

    /// Times lws reported the listener readable (`LWS_CALLBACK_RAW_RX_FILE`). Each wake
    /// accepts up to 64 connections, so under a steady stream of connects this grows slower than they do; a
    /// listener that spins would make it grow by thousands a second.
    public var listenerWakes: Int { listenerWakeCount.load(ordering: .relaxed) }
    /// Accepts that failed for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM);
    /// each paused the listener (see `acceptBackoffs`).
    public var acceptResourceFailures: Int { acceptResourceFailureCount.load(ordering: .relaxed) }
    /// Back-off episodes, each from a first such failure to the next accept that succeeded, with
    /// pauses of 100 ms doubling to 1 s in between; each is logged once.
    public var acceptBackoffs: Int { acceptBackoffCount.load(ordering: .relaxed) }

    func countSlowConsumerClose() { slowConsumerCloseCount.add(1, ordering: .relaxed) }
    func countForcedClose() { forcedCloseCount.add(1, ordering: .relaxed) }
    func countRefusedHandshake() { refusedHandshakeCount.add(1, ordering: .relaxed) }
    func countLimitRefusal() { limitRefusalCount.add(1, ordering: .relaxed) }
    func countServiceWake() { serviceWakeCount.add(1, ordering: .relaxed) }
    func countListenerWake() { listenerWakeCount.add(1, ordering: .relaxed) }
    func countAcceptResourceFailure() { acceptResourceFailureCount.add(1, ordering: .relaxed) }
    func countAcceptBackoff() { acceptBackoffCount.add(1, ordering: .relaxed) }

    /// One writeable callback (or one write on a wake-up, `onWake`) wrote `frames` messages (service thread only,
    /// so the maximum needs no CAS loop).
    func countWriteCallback(frames: Int, onWake: Bool = false) {
        precondition(frames >= 1, "a write callback writes at least one frame")
        if onWake { writeOnWakeCount.add(1, ordering: .relaxed) }
        framesWrittenCount.add(frames, ordering: .relaxed)
        writeCallbackCount.add(1, ordering: .relaxed)
        if frames > framesPerCallbackMax.load(ordering: .relaxed) {
            framesPerCallbackMax.store(frames, ordering: .relaxed)
        }
    }
}
