/// How a ``NATSConnection`` connects and how much it may hold. Limits are named with their unit last.
public struct NATSConfiguration: Sendable {
    /// Server URLs (`nats://host:port`); libnats tries them in order on connect and reconnect.
    public var urls: [String]
    /// Wait before trying the same server again after every server failed, in milliseconds.
    public var reconnectWaitMilliseconds: Int = 250
    /// Upper bound of the random delay added to each reconnect wait, so restarted hubs do not reconnect in step.
    public var reconnectJitterMilliseconds: Int = 100
    /// Bytes of publishes held while disconnected; past it `publish` throws `.pendingBufferFull`.
    public var pendingBytesMax: Int = 8 << 20
    /// Messages a subscription holds for a consumer that is behind; past it the newest are dropped (and the
    /// ``StreamGapTracker`` sees a gap to fill from the database).
    public var subscriptionMessagesQueuedMax: Int = 65_536
    /// Connection events held for a consumer that is behind (only the newest are kept).
    public var eventsQueuedMax: Int = 64
    /// Time allowed to open one TCP connection to a server, in milliseconds.
    public var connectTimeoutMilliseconds: Int = 2_000
    /// Name shown by the server's monitoring, e.g. "bankhub-3".
    public var name: String = "bankhub"
    /// When true the server does not send this connection's own publishes back to its own subscriptions
    /// (NATS no-echo): a hub has already delivered its own events to its own subscribers.
    public var noEcho: Bool = false

    public init(urls: [String]) {
        self.urls = urls
    }

    /// Throws `.invalidConfiguration` for an empty URL list or a limit out of range.
    func validate() throws(BusError) {
        guard !urls.isEmpty else { throw BusError(.invalidConfiguration, "no NATS server URL given") }
        guard reconnectWaitMilliseconds >= 1, reconnectJitterMilliseconds >= 0, connectTimeoutMilliseconds >= 1
        else { throw BusError(.invalidConfiguration, "reconnect wait and connect timeout must be positive") }
        guard (1...Int(Int32.max)).contains(pendingBytesMax) else {
            throw BusError(.invalidConfiguration, "pendingBytesMax must be 1...\(Int32.max) bytes")
        }
        guard subscriptionMessagesQueuedMax >= 1, eventsQueuedMax >= 1 else {
            throw BusError(.invalidConfiguration, "queue limits must be at least 1")
        }
    }
}
