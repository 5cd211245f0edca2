import BankStore
import Synchronization
import WebSocketTransport

/// The in-process fan-out: one table of subscriptions behind a mutex.
///
/// Each subscription remembers the last seq it delivered, so an event is never sent twice and never out of
/// order, even when a catch-up replay from the event log overlaps with live publication.
public final class LocalEventFanout: EventFanout {
    /// Live events held back for one subscription while it catches up; past this the connection is closed as a
    /// slow consumer (it can resume with `since`).
    public static let catchUpEventsMax = 65_536

    private enum Subscription {
        case catchingUp(held: [StoredEvent])
        case live(lastDelivered: Int64)
    }

    private struct Table {
        var byStream: [String: [ConnectionID: Subscription]] = [:]
        var byConnection: [ConnectionID: Set<String>] = [:]
    }

    private let table = Mutex(Table())
    private let sink: any FrameSink

    public init(sink: any FrameSink) {
        self.sink = sink
    }

    public func publish(_ events: [StoredEvent]) {
        var overflowed: [ConnectionID] = []
        table.withLock { table in
            for event in events {
                guard var subscribers = table.byStream[event.stream] else { continue }
                var recipients: [ConnectionID] = []
                for (connection, subscription) in subscribers {
                    switch subscription {
                    case .live(let lastDelivered) where event.seq > lastDelivered:
                        recipients.append(connection)
                        subscribers[connection] = .live(lastDelivered: event.seq)
                    case .live:
                        continue
                    case .catchingUp(var held):
                        if held.count >= Self.catchUpEventsMax {
                            overflowed.append(connection)
                            continue
                        }
                        held.append(event)
                        subscribers[connection] = .catchingUp(held: held)
                    }
                }
                table.byStream[event.stream] = subscribers
                // Sent under the lock so that a concurrent finishCatchUp cannot interleave out of order.
                if !recipients.isEmpty { sink.send(EventFrame.encode(event), to: recipients) }
            }
        }
        for connection in overflowed {
            drop(connection)
            sink.close(connection, code: 4008, reason: "slow consumer")
        }
    }

    public func beginCatchUp(_ connection: ConnectionID, stream: String) {
        table.withLock { table in
            table.byStream[stream, default: [:]][connection] = .catchingUp(held: [])
            table.byConnection[connection, default: []].insert(stream)
        }
    }

    public func finishCatchUp(_ connection: ConnectionID, stream: String, lastDelivered: Int64) {
        table.withLock { table in
            guard case .catchingUp(let held)? = table.byStream[stream]?[connection] else { return }
            var last = lastDelivered
            for event in held where event.seq > last {
                sink.send(EventFrame.encode(event), to: connection)
                last = event.seq
            }
            table.byStream[stream]?[connection] = .live(lastDelivered: last)
        }
    }

    public func unsubscribe(_ connection: ConnectionID, stream: String) {
        table.withLock { table in
            table.byStream[stream]?[connection] = nil
            if table.byStream[stream]?.isEmpty == true { table.byStream[stream] = nil }
            table.byConnection[connection]?.remove(stream)
        }
    }

    public func drop(_ connection: ConnectionID) {
        table.withLock { table in
            for stream in table.byConnection.removeValue(forKey: connection) ?? [] {
                table.byStream[stream]?[connection] = nil
                if table.byStream[stream]?.isEmpty == true { table.byStream[stream] = nil }
            }
        }
    }

    public func streams(of connection: ConnectionID) -> [String] {
        table.withLock { Array($0.byConnection[connection] ?? []) }
    }

    /// How many subscriptions are open, for /healthz.
    public var subscriptionCount: Int {
        table.withLock { $0.byConnection.values.reduce(0) { $0 + $1.count } }
    }
}
