import BankStorage
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

    fileprivate enum Subscription {
        case catchingUp(held: [StoredEvent])
        case live(lastDelivered: Int64)
    }

    private struct Table {
        var byStream: [String: [ConnectionID: Subscription]] = [:]
        var byConnection: [ConnectionID: ConnectionStreams] = [:]
        /// Subscribers that take server-sent-event records instead of JSON frames (HTTP event streams).
        var serverSent: Set<ConnectionID> = []

        func format(of connection: ConnectionID) -> EventFormat {
            serverSent.contains(connection) ? .serverSent : .frame
        }
    }

    private let table = Mutex(Table())
    private let sink: any FrameSink

    public init(sink: any FrameSink) {
        self.sink = sink
    }

    public func publish(_ events: [StoredEvent]) {
        var overflowed: [ConnectionID] = []
        var recipients: [ConnectionID] = []
        table.withLock { table in
            var batch = SendBatch()
            for event in events {
                // Mutated in place (no copy of the stream's table per event, which cost O(subscribers) each).
                guard let index = table.byStream.index(forKey: event.stream) else { continue }
                recipients.removeAll(keepingCapacity: true)
                table.byStream.values[index].deliver(event, to: &recipients, overflowed: &overflowed)
                if !recipients.isEmpty { add(event, for: recipients, serverSent: table.serverSent, to: &batch) }
            }
            // Handed over under the lock, so that a concurrent finishCatchUp cannot interleave out of order; in one
            // call, so the transport takes its lock once and wakes its service thread once for all these events.
            if !batch.isEmpty { sink.send(batch) }
        }
        for connection in overflowed {
            drop(connection)
            sink.close(connection, code: 4008, reason: "slow consumer")
        }
    }

    /// Each format is encoded once per event; with no event-stream subscribers this is the one frame as before.
    private func add(_ event: StoredEvent, for recipients: [ConnectionID], serverSent: Set<ConnectionID>,
                     to batch: inout SendBatch) {
        guard !serverSent.isEmpty, recipients.contains(where: { serverSent.contains($0) }) else {
            batch.append(EventFrame.encode(event), to: recipients)
            return
        }
        if recipients.contains(where: { !serverSent.contains($0) }) {
            batch.append(EventFrame.encode(event), to: recipients.lazy.filter { !serverSent.contains($0) })
        }
        batch.append(ServerSentEvent.encode(event), to: recipients.lazy.filter { serverSent.contains($0) })
    }

    public func beginCatchUp(_ connection: ConnectionID, stream: String, format: EventFormat) {
        table.withLock { table in
            table.byStream[stream, default: [:]][connection] = .catchingUp(held: [])
            table.byConnection[connection, default: ConnectionStreams()].insert(stream)
            if format == .serverSent { table.serverSent.insert(connection) }
        }
    }

    public func finishCatchUp(_ connection: ConnectionID, stream: String, replay: [StoredEvent], lastDelivered: Int64,
                              announce: () -> Void) -> Bool {
        table.withLock { table in
            let pending: [StoredEvent]
            var last: Int64
            switch table.byStream[stream]?[connection] {
            case .catchingUp(let held)?:
                (pending, last) = (replay + held, lastDelivered)
            case .live(let sent)?:
                // A second subscribe to the stream overtook this one and is live already: only what it has not
                // sent yet goes out.
                (pending, last) = (replay, max(lastDelivered, sent))
            case nil:
                return false
            }
            announce()
            let format = table.format(of: connection)
            var batch = SendBatch()
            for event in pending where event.seq > last {
                batch.append(format.encode(event), to: connection)
                last = event.seq
            }
            if !batch.isEmpty { sink.send(batch) }
            table.byStream[stream]?[connection] = .live(lastDelivered: last)
            return true
        }
    }

    public func revoke(_ connection: ConnectionID, where shouldEnd: (String) -> Bool) -> [String] {
        table.withLock { table in
            let ended = (table.byConnection[connection] ?? ConnectionStreams()).filter(shouldEnd).sorted()
            for stream in ended {
                table.byStream[stream]?[connection] = nil
                if table.byStream[stream]?.isEmpty == true { table.byStream[stream] = nil }
                table.byConnection[connection]?.remove(stream)
            }
            return ended
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
            for stream in table.byConnection.removeValue(forKey: connection) ?? ConnectionStreams() {
                table.byStream[stream]?[connection] = nil
                if table.byStream[stream]?.isEmpty == true { table.byStream[stream] = nil }
            }
            table.serverSent.remove(connection)
        }
    }
}

extension Dictionary where Key == ConnectionID, Value == LocalEventFanout.Subscription {
    /// One event to one stream's subscribers: live ones whose last delivered seq is older get it (their seq
    /// moves on), catching-up ones hold it (past `catchUpEventsMax` they are reported as overflowed).
    fileprivate mutating func deliver(_ event: StoredEvent, to recipients: inout [ConnectionID],
                                      overflowed: inout [ConnectionID]) {
        for index in indices {
            switch values[index] {
            case .live(let lastDelivered) where event.seq > lastDelivered:
                recipients.append(keys[index])
                values[index] = .live(lastDelivered: event.seq)
            case .live:
                continue
            case .catchingUp(var held):
                if held.count >= LocalEventFanout.catchUpEventsMax {
                    overflowed.append(keys[index])
                    continue
                }
                values[index] = .live(lastDelivered: 0)
                held.append(event)
                values[index] = .catchingUp(held: held)
            }
        }
    }
}
