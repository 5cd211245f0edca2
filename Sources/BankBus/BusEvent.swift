/// What a ``NATSConnection`` tells its consumer about the link to the NATS servers. A hub fills the gaps of every
/// stream from the database on `.reconnected`, since messages published while it was away never reach it.
public enum BusEvent: Sendable, Equatable {
    /// The first connection succeeded (it may come after `connect` returned, when no server was up yet).
    case connected
    /// The link dropped; libnats retries forever with a bounded wait and jitter.
    case disconnected
    /// The link is back; subscriptions were restored by libnats.
    case reconnected
    /// `close()` finished; no further events.
    case closed
}

/// One message received on a subscription: its subject and a copy of its payload.
public struct BusMessage: Sendable, Equatable {
    public let subject: String
    public let payload: [UInt8]

    public init(subject: String, payload: [UInt8]) {
        self.subject = subject
        self.payload = payload
    }
}
