import BankBus
import BankStorage
import Synchronization
import WebSocketTransport

/// The fan-out of a hub that shares its database with other hubs: this hub's subscribers are served by a
/// ``LocalEventFanout``, and events cross to the other hubs over NATS.
///
/// - `publish` sends each event on `bank.events.<stream>` (``BusSubjects``) and hands it to the local fan-out.
///   The connection must be opened with `noEcho`, so a hub never gets its own events back.
/// - A hub subscribes to a stream's subject while at least one of its connections follows the stream (from
///   `beginCatchUp` to `unsubscribe`, `revoke` or `drop`), and unsubscribes when the last one leaves.
/// - Everything handed to the local fan-out, from this hub or the bus, goes through one ``StreamGapTracker`` per
///   stream (``BusFollowedStreams``): next in order is delivered, a duplicate dropped, a gap read from the store
///   by the injected ``EventGapFiller`` and delivered first. On `reconnected`, once the server has the restored
///   subscriptions, every followed stream is read from its last delivered seq to its end.
/// - A gap shows only when a later event arrives, so the last events of a stream that the bus never brought
///   (published before a subscription took effect, or dropped by a hub that was disconnected) would wait for
///   the next one. ``checkHeads(_:)``, called periodically (`HubBus`), compares the followed streams' heads
///   in the store with what was delivered and reads what the bus missed (``BusFollowedStreams/checkHeads``).
/// - Every message is sealed (``BusEventSeal``: HMAC-SHA256 under `key`, shared by the hubs, not by NATS). One
///   whose seal fails is dropped and counted, and its stream is read from the store instead, so a forged message
///   delivers nothing and a suppressed or mangled real one is still delivered.
///
/// Locks: this fan-out's mutex is taken before the local fan-out's, never after; the filler runs under it.
/// `HubServer` uses it when the hub has a bus (`serve --bus`, Server/HubBus.swift).
public final class BusEventFanout: EventFanout {
    /// Counters for operators and tests.
    public struct Statistics: Sendable, Equatable {
        /// Publishes the bus refused (pending buffer full, closed): other hubs fill those events as gaps.
        public var publishFailures = 0
        /// Bus messages that were not a valid event envelope, or came on the wrong subject: dropped.
        public var malformedMessages = 0
        /// Bus messages whose seal did not verify (forged, or sealed under another key): dropped, and their
        /// stream read from the store.
        public var unsealedMessages = 0
        /// Filler calls that threw: the range stays missing until the next message or reconnect asks again.
        public var fillFailures = 0
        /// Bus subscriptions that could not be made (closed connection): the stream gets only local events.
        public var subscribeFailures = 0
        /// Head checks whose read of the store's heads threw: the next check reads again.
        public var headCheckFailures = 0
        /// Events delivered by a head check: events the bus did not bring (and no later event revealed).
        public var headCheckEvents = 0
    }

    private struct State {
        var followed = BusFollowedStreams()
        /// Head checks begun: which slice of the followed streams the next one reads.
        var headChecks = 0
        var statistics = Statistics()
    }

    private let local: LocalEventFanout
    private let bus: NATSConnection
    private let filler: EventGapFiller
    private let seal: BusEventSeal
    private let state = Mutex(State())

    /// Starts a task that watches `bus`'s link events (it ends when the connection closes): each is handed to
    /// `linkChanged` (logging), and on `connected` and `reconnected` every followed stream is read from the store
    /// after its last delivered seq. `key` (at least ``BusEventSeal/keyBytesMin`` bytes, the same on every hub)
    /// seals and checks the messages.
    public init(local: LocalEventFanout, bus: NATSConnection, key: [UInt8], filler: @escaping EventGapFiller,
                linkChanged: @escaping @Sendable (BusEvent) -> Void = { _ in }) {
        precondition(bus.configuration.noEcho, "a hub must not receive its own events back: open the bus with noEcho")
        self.local = local
        self.bus = bus
        self.filler = filler
        self.seal = BusEventSeal(key: key)
        let events = bus.events
        Task { [weak self] in
            for await event in events {
                linkChanged(event)
                // `.connected` too: a hub that started before NATS was up may have missed events meanwhile.
                guard event == .reconnected || event == .connected else { continue }
                // libnats reports the reconnect before the restored subscriptions reach the server: an event
                // published in between would be neither read nor received. The flush (a round trip) closes that.
                _ = try? bus.flush()
                guard let self else { return }
                self.fillAll()
            }
        }
    }

    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.fillFailures = state.followed.fillFailures
            return statistics
        }
    }

    /// Streams this hub holds a bus subscription for, sorted (diagnostics and tests).
    var busSubscriptions: [String] {
        state.withLock { state in state.followed.streams.filter { $0.value.subscription != nil }.keys.sorted() }
    }

    public func publish(_ events: [StoredEvent]) {
        state.withLock { state in
            let admitted = state.followed.admit(events, filler: filler)
            if !admitted.isEmpty { local.publish(admitted) }
        }
        var failures = 0
        for event in events {
            do throws(BusError) {
                try bus.publish(BusSubjects.events(of: event.stream),
                                seal.seal(BusEventCodec.envelope(event).encoded()))
            } catch {
                failures += 1
            }
        }
        if failures > 0 { state.withLock { $0.statistics.publishFailures += failures } }
    }

    public func beginCatchUp(_ connection: ConnectionID, stream: String, format: EventFormat) {
        let subscriptionID = state.withLock { state in
            local.beginCatchUp(connection, stream: stream, format: format)
            return state.followed.follow(connection, stream)
        }
        if let subscriptionID { subscribe(stream, id: subscriptionID) }
    }

    public func finishCatchUp(_ connection: ConnectionID, stream: String, replay: [StoredEvent], lastDelivered: Int64,
                              announce: () -> Void) -> Bool {
        state.withLock { state in
            guard local.finishCatchUp(connection, stream: stream, replay: replay, lastDelivered: lastDelivered,
                                      announce: announce) else { return false }
            let caughtUp = max(lastDelivered, replay.last?.seq ?? 0)
            let admitted = state.followed.start(stream, caughtUpThrough: caughtUp, filler: filler)
            if !admitted.isEmpty { local.publish(admitted) }
            return true
        }
    }

    public func unsubscribe(_ connection: ConnectionID, stream: String) {
        let ended = state.withLock { state in
            local.unsubscribe(connection, stream: stream)
            return state.followed.unfollow(connection, stream)
        }
        ended?.unsubscribe()
    }

    public func revoke(_ connection: ConnectionID, where shouldEnd: (String) -> Bool) -> [String] {
        let (streams, ended) = state.withLock { state in
            let streams = local.revoke(connection, where: shouldEnd)
            return (streams, streams.compactMap { state.followed.unfollow(connection, $0) })
        }
        ended.forEach { $0.unsubscribe() }
        return streams
    }

    public func drop(_ connection: ConnectionID) {
        let ended = state.withLock { state in
            local.drop(connection)
            return state.followed.unfollowAll(connection)
        }
        ended.forEach { $0.unsubscribe() }
    }

    /// Subscribes to the stream's subject and starts the task that reads it. Then waits (on that task, not the
    /// caller) for the server to confirm the subscription, and reads the stream from the store once more: an
    /// event committed after the catch-up's read but before the server knew of the subscription was not sent here.
    private func subscribe(_ stream: String, id: UInt64) {
        let subscription: NATSSubscription
        do throws(BusError) {
            subscription = try bus.subscribe(BusSubjects.events(of: stream))
        } catch {
            state.withLock { $0.statistics.subscribeFailures += 1 }
            return
        }
        state.withLock { $0.followed.attach(subscription, to: stream, id: id) }
        let bus = self.bus
        Task { [weak self] in
            _ = try? bus.flush()
            self?.fillOne(stream, id: id)
            for await message in subscription.messages {
                guard let self else { return }
                self.receive(message, stream: stream, id: id)
            }
        }
    }

    /// The periodic head check: reads the store's heads of the live followed streams (a slice of them past
    /// `BusFollowedStreams.headCheckStreamsMax`) with `heads` (I/O, outside the lock; one query), then delivers from the store what the bus has not brought for a whole
    /// period (``BusFollowedStreams/checkHeads``). Does nothing when no stream is followed.
    public func checkHeads(_ heads: ([String]) throws -> [String: Int64]) {
        let streams = state.withLock { state in
            defer { state.headChecks += 1 }
            return state.followed.headCheckSlice(tick: state.headChecks)
        }
        guard !streams.isEmpty else { return }
        let read: [String: Int64]
        do { read = try heads(streams) } catch {
            state.withLock { $0.statistics.headCheckFailures += 1 }
            return
        }
        state.withLock { state in
            let admitted = state.followed.checkHeads(read, filler: filler)
            state.statistics.headCheckEvents += admitted.count
            if !admitted.isEmpty { local.publish(admitted) }
        }
    }

    private func receive(_ message: BusMessage, stream: String, id: UInt64) {
        guard let envelope = seal.open(message.payload) else {
            state.withLock { $0.statistics.unsealedMessages += 1 }
            fillOne(stream, id: id)
            return
        }
        let event: StoredEvent
        do throws(BusError) {
            event = try BusEventCodec.event(EventEnvelope.decode(envelope))
        } catch {
            state.withLock { $0.statistics.malformedMessages += 1 }
            return
        }
        state.withLock { state in
            guard event.stream == stream else { return state.statistics.malformedMessages += 1 }
            // A message of an earlier follow of this stream, still in flight: the current follow has its own.
            guard state.followed.isCurrent(stream, id: id) else { return }
            let admitted = state.followed.admit([event], filler: filler)
            if !admitted.isEmpty { local.publish(admitted) }
        }
    }

    private func fillOne(_ stream: String, id: UInt64) {
        state.withLock { state in
            guard state.followed.isCurrent(stream, id: id) else { return }
            let admitted = state.followed.fillOne(stream, filler: filler)
            if !admitted.isEmpty { local.publish(admitted) }
        }
    }

    private func fillAll() {
        state.withLock { state in
            let admitted = state.followed.fillAll(filler: filler)
            if !admitted.isEmpty { local.publish(admitted) }
        }
    }
}
