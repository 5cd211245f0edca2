import BankStorage
import WebSocketTransport

/// Delivers committed events to the connections subscribed to their streams.
///
/// This is the seam where a later multi-hub deployment plugs in a real message bus (NATS, Redis): `publish`
/// goes to the bus, and each hub delivers what the bus hands it to its own subscribers. The resume logic
/// (catch up from the event log, then go live with no gap and no duplicate) stays the same.
public protocol EventFanout: Sendable {
    /// Events just committed, in seq order per stream.
    func publish(_ events: [StoredEvent])
    /// Starts a subscription in catch-up mode: live events are held back until `finishCatchUp`. `format` is
    /// how this connection receives events (the same for all its streams).
    func beginCatchUp(_ connection: ConnectionID, stream: String, format: EventFormat)
    /// If the subscription still exists (it was not ended meanwhile): calls `announce` (the subscribe reply),
    /// sends `replay` (the stored events read for it), then what was held back, each only when its seq is above
    /// the last sent (starting from `lastDelivered`), and switches to live delivery; returns true. All of it under
    /// the table's lock, so nothing is sent for a subscription once it has been ended.
    func finishCatchUp(_ connection: ConnectionID, stream: String, replay: [StoredEvent], lastDelivered: Int64,
                       announce: () -> Void) -> Bool
    func unsubscribe(_ connection: ConnectionID, stream: String)
    /// Ends the subscriptions of `connection` whose stream `shouldEnd` picks (live or catching up); returns their
    /// streams. Nothing of theirs is sent after this returns.
    func revoke(_ connection: ConnectionID, where shouldEnd: (String) -> Bool) -> [String]
    /// Forgets every subscription of a closed connection.
    func drop(_ connection: ConnectionID)
}

/// Where the fan-out hands frames to be written. The hub's transport in production; anything that queues
/// bytes for a connection.
public protocol FrameSink: Sendable {
    @discardableResult func send(_ bytes: [UInt8], to connection: ConnectionID) -> Bool
    func send(_ bytes: [UInt8], to connections: [ConnectionID])
    /// Queues every message of `batch`, in order per connection; the transport takes its lock and wakes its
    /// service thread once for all of them.
    func send(_ batch: SendBatch)
    func close(_ connection: ConnectionID, code: UInt16, reason: String)
}

extension FrameSink {
    /// One send per message, for sinks with nothing to gain from a batch.
    public func send(_ batch: SendBatch) {
        batch.forEach { bytes, recipients in send(bytes, to: Array(recipients)) }
    }
}

extension WebSocketServer: FrameSink {}
