import BankStore
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
    /// Delivers what was held back with seq above `lastDelivered` and switches to live delivery.
    func finishCatchUp(_ connection: ConnectionID, stream: String, lastDelivered: Int64)
    func unsubscribe(_ connection: ConnectionID, stream: String)
    /// Forgets every subscription of a closed connection.
    func drop(_ connection: ConnectionID)
}

/// Where the fan-out hands frames to be written. The hub's transport in production; anything that queues
/// bytes for a connection.
public protocol FrameSink: Sendable {
    @discardableResult func send(_ bytes: [UInt8], to connection: ConnectionID) -> Bool
    func send(_ bytes: [UInt8], to connections: [ConnectionID])
    func close(_ connection: ConnectionID, code: UInt16, reason: String)
}

extension WebSocketServer: FrameSink {}
