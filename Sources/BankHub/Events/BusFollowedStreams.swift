import BankBus
import BankStorage
import WebSocketTransport

/// Reads the events of `stream` with seq in `fromSeq...toSeq`, oldest first (at most
/// `BusFollowedStreams.fillEventsMax` of them). In production a database read; it runs under the bus fan-out's
/// lock, so it must not call back into the fan-out.
public typealias EventGapFiller = @Sendable (_ stream: String, _ fromSeq: Int64, _ toSeq: Int64) throws
    -> [StoredEvent]

/// What `BusEventFanout` knows per stream that a local connection follows: who follows it, its bus
/// subscription, and where delivery to the local fan-out stands. No locking and no bus calls here: the fan-out
/// holds this in its mutex and does the I/O around it.
///
/// Invariant (per followed stream, while `live`): `tracker.lastDelivered[stream] = L` means every event of the
/// stream with seq <= L has been handed to the local fan-out, in seq order, or was in the catch-up read of every
/// subscription that was not live when it was handed over. So each local subscription, whose catch-up ended at
/// some seq C, sees C+1, C+2, ... with no gap, and the local fan-out drops what it already sent (seq <= its own
/// last delivered). The tracker starts at the first finished catch-up's last seq; before that (`pending`) nothing
/// is handed over, so it cannot run ahead of the catch-up.
struct BusFollowedStreams {
    /// Largest number of events asked of the filler in one call.
    static let fillEventsMax = 4_096
    /// Largest number of filler calls in one fill to the stream's end (after a reconnect): 64 × 4,096 events.
    static let fillRoundsMax = 64
    /// Events held per stream while its first subscription catches up; past it they are dropped and the stream
    /// is filled from the store when the catch-up finishes.
    static let pendingEventsMax = 65_536

    enum Phase {
        /// No subscription of the stream has finished its catch-up: events wait here. `fillToLatest`: something
        /// may have been missed (held events dropped, a reconnect, the bus subscription unconfirmed), so when the
        /// catch-up ends, the stream is read from the store up to its end.
        case pending(held: [StoredEvent], fillToLatest: Bool)
        case live(StreamGapTracker)
    }

    struct Followed {
        var connections: Set<ConnectionID> = []
        var phase = Phase.pending(held: [], fillToLatest: false)
        /// Tells this follow's bus messages from those of an earlier follow of the same stream.
        let subscriptionID: UInt64
        var subscription: NATSSubscription?
        /// The store's head of the stream at the last head check, when it was past the last delivered seq: if
        /// the bus has not brought that far by the next check, the stream is read from the store.
        var headBehind: Int64?
    }

    private(set) var streams: [String: Followed] = [:]
    private var byConnection: [ConnectionID: Set<String>] = [:]
    private var nextSubscriptionID: UInt64 = 1
    /// Filler calls that threw (the range stays missing; the next message or reconnect asks again).
    private(set) var fillFailures = 0

    /// Adds a follower; returns the new subscription id when `stream` was not followed before (the caller
    /// subscribes on the bus and calls `attach`).
    mutating func follow(_ connection: ConnectionID, _ stream: String) -> UInt64? {
        byConnection[connection, default: []].insert(stream)
        if streams[stream] != nil {
            streams[stream]?.connections.insert(connection)
            return nil
        }
        let id = nextSubscriptionID
        nextSubscriptionID += 1
        streams[stream] = Followed(connections: [connection], subscriptionID: id)
        return id
    }

    mutating func attach(_ subscription: NATSSubscription, to stream: String, id: UInt64) {
        guard streams[stream]?.subscriptionID == id else { return subscription.unsubscribe() }
        streams[stream]?.subscription = subscription
    }

    func isCurrent(_ stream: String, id: UInt64) -> Bool { streams[stream]?.subscriptionID == id }

    /// Removes one follower; returns the bus subscription to end when it was the last.
    mutating func unfollow(_ connection: ConnectionID, _ stream: String) -> NATSSubscription? {
        byConnection[connection]?.remove(stream)
        if byConnection[connection]?.isEmpty == true { byConnection[connection] = nil }
        guard var followed = streams[stream] else { return nil }
        followed.connections.remove(connection)
        if !followed.connections.isEmpty {
            streams[stream] = followed
            return nil
        }
        streams[stream] = nil
        return followed.subscription
    }

    mutating func unfollowAll(_ connection: ConnectionID) -> [NATSSubscription] {
        (byConnection[connection] ?? []).sorted().compactMap { unfollow(connection, $0) }
    }

    /// Events (from this hub or the bus) to hand to the local fan-out, in order, gaps filled from the store.
    mutating func admit(_ events: [StoredEvent], filler: EventGapFiller) -> [StoredEvent] {
        var out: [StoredEvent] = []
        for event in events { admit(event, filler: filler, into: &out) }
        return out
    }

    /// The first finished catch-up of `stream` read it through `caughtUpThrough`: the tracker starts there and
    /// the held events (and a fill, if one is owed) follow. Returns what to hand to the local fan-out.
    mutating func start(_ stream: String, caughtUpThrough: Int64, filler: EventGapFiller) -> [StoredEvent] {
        guard case .pending(let held, let fillToLatest)? = streams[stream]?.phase else { return [] }
        var tracker = StreamGapTracker()
        tracker.start(stream: stream, at: UInt64(max(caughtUpThrough, 0)))
        streams[stream]?.phase = .live(tracker)
        var out = admit(held.sorted { $0.seq < $1.seq }, filler: filler)
        if fillToLatest { out += fillToEnd(stream, filler: filler) }
        return out
    }

    /// After a reconnect: every live stream is read from the store after its last delivered seq; a pending one
    /// is read when its catch-up finishes.
    mutating func fillAll(filler: EventGapFiller) -> [StoredEvent] {
        var out: [StoredEvent] = []
        for stream in streams.keys.sorted() {
            if case .pending(let held, _)? = streams[stream]?.phase {
                streams[stream]?.phase = .pending(held: held, fillToLatest: true)
            } else {
                out += fillToEnd(stream, filler: filler)
            }
        }
        return out
    }

    /// Like `fillAll`, for one stream (its bus subscription was confirmed after its catch-up may have read).
    mutating func fillOne(_ stream: String, filler: EventGapFiller) -> [StoredEvent] {
        switch streams[stream]?.phase {
        case .pending(let held, _)?: streams[stream]?.phase = .pending(held: held, fillToLatest: true); return []
        case .live?: return fillToEnd(stream, filler: filler)
        case nil: return []
        }
    }

    /// Largest number of followed streams one head check reads the heads of.
    static let headCheckStreamsMax = 4_096

    /// The live streams the `tick`-th head check reads: all of them while at most `max` streams are followed;
    /// past that, one of ceil(followed / `max`) slices in turn (by subscription id, which follows hand out in
    /// order, so slices are about even), so a check costs about `max` lookups however many streams a hub follows
    /// and each live stream is read every ceil(followed / `max`) checks. Unsorted: each stream is checked on its
    /// own. Measured at 50,000 subscribed connections over 3 hubs (~16,700 streams each): reading every head
    /// every 250 ms took one event to all of them from 1.96 s (head check off) to 4.99 s (docs/scaling.md).
    func headCheckSlice(tick: Int, max: Int = headCheckStreamsMax) -> [String] {
        precondition(tick >= 0 && max > 0, "a check number and a positive slice")
        let slices = UInt64(Swift.max(1, (streams.count + max - 1) / max))
        let slice = UInt64(tick) % slices
        return streams.compactMap { name, followed in
            followed.phase.isLive && followed.subscriptionID % slices == slice ? name : nil
        }
    }

    /// One periodic head check; `heads` is the store's last seq of (some of) the live streams, read just before.
    /// A stream whose head was past its last delivered seq at the previous check and still is has waited a
    /// whole period for the bus to bring those events: it is read from the store to its end. One that is behind
    /// only now is noted (its events may still be on their way over the bus). So an event the bus never brings
    /// (published before this hub's subscription took effect, dropped while a hub was disconnected) is
    /// delivered within two check periods plus a read (two of its slice's turns, past `headCheckStreamsMax`
    /// followed streams), even when no later event shows the gap. Streams are independent: any order.
    mutating func checkHeads(_ heads: [String: Int64], filler: EventGapFiller) -> [StoredEvent] {
        var out: [StoredEvent] = []
        for (stream, head) in heads {
            guard let followed = streams[stream], case .live(let tracker) = followed.phase else { continue }
            let last = Int64(tracker.lastDelivered[stream, default: 0])
            guard head > last else {
                streams[stream]?.headBehind = nil
                continue
            }
            guard let noted = followed.headBehind, noted > last else {
                streams[stream]?.headBehind = head
                continue
            }
            out += fillToEnd(stream, filler: filler)
            // A fill that failed or came back short is tried again at the next check.
            let reached = Int64(streams[stream]?.phase.lastDelivered(of: stream) ?? 0)
            streams[stream]?.headBehind = reached < head ? head : nil
        }
        return out
    }

    private mutating func admit(_ event: StoredEvent, filler: EventGapFiller, into out: inout [StoredEvent]) {
        guard event.seq >= 1, let isLive = streams[event.stream]?.phase.isLive else { return }
        // Mutated in place (no local copy of the phase), so the held array is not copied per event.
        guard isLive else { return streams[event.stream]!.phase.hold(event) }
        guard case .live(var tracker)? = streams[event.stream]?.phase else { return }
        switch tracker.receive(EventEnvelope(stream: event.stream, seq: UInt64(event.seq), event: [])) {
        case .deliver:
            out.append(event)
        case .dropDuplicate:
            break
        case .fillGap(_, let from, let to):
            let filled = fillRange(event.stream, from: Int64(from), through: Int64(to) - 1, filler: filler, &tracker)
            out += filled
            // The event in hand follows the fill only if the fill reached the seq just before it.
            if (filled.last?.seq ?? Int64(from) - 1) == event.seq - 1 {
                tracker.filled(stream: event.stream, through: UInt64(event.seq))
                out.append(event)
            }
        }
        streams[event.stream]?.phase = .live(tracker)
    }

    /// Reads `stream` after its last delivered seq to its end.
    private mutating func fillToEnd(_ stream: String, filler: EventGapFiller) -> [StoredEvent] {
        guard case .live(var tracker)? = streams[stream]?.phase else { return [] }
        let from = Int64(tracker.lastDelivered[stream, default: 0]) + 1
        let out = fillRange(stream, from: from, through: Int64.max, filler: filler, &tracker)
        streams[stream]?.phase = .live(tracker)
        return out
    }

    /// `from...through` in rounds of at most `fillEventsMax` events (at most `fillRoundsMax` rounds), stopping
    /// at the first round that comes back short (the store's end, or a range it could not give).
    private mutating func fillRange(_ stream: String, from: Int64, through: Int64, filler: EventGapFiller,
                                    _ tracker: inout StreamGapTracker) -> [StoredEvent] {
        var out: [StoredEvent] = []
        var next = from
        for _ in 0..<Self.fillRoundsMax where next <= through {
            let to = through - next < Int64(Self.fillEventsMax) ? through : next + Int64(Self.fillEventsMax) - 1
            let round = fill(stream, from: next, to: to, filler: filler, &tracker)
            out += round
            guard round.count == to - next + 1 else { break }
            next = to + 1
        }
        return out
    }

    /// The events `from...to` the filler returns, as far as they run on without a gap; the tracker moves past
    /// them. A filler error delivers nothing and is counted.
    private mutating func fill(_ stream: String, from: Int64, to: Int64, filler: EventGapFiller,
                               _ tracker: inout StreamGapTracker) -> [StoredEvent] {
        precondition(from >= 1 && to - from < Int64(Self.fillEventsMax), "fill range 1...fillEventsMax events")
        guard from <= to else { return [] }
        let read: [StoredEvent]
        do { read = try filler(stream, from, to) } catch {
            fillFailures += 1
            return []
        }
        var out: [StoredEvent] = []
        for event in read where event.stream == stream && event.seq == from + Int64(out.count) && event.seq <= to {
            out.append(event)
        }
        if let last = out.last { tracker.filled(stream: stream, through: UInt64(last.seq)) }
        assert(out.isEmpty || (out.first?.seq == from && out.last!.seq <= to))
        return out
    }
}

extension BusFollowedStreams.Phase {
    var isLive: Bool {
        if case .live = self { return true }
        return false
    }

    /// The last seq handed over for `stream` while live; nil while pending.
    func lastDelivered(of stream: String) -> UInt64? {
        guard case .live(let tracker) = self else { return nil }
        return tracker.lastDelivered[stream, default: 0]
    }

    /// Holds one more event while pending; past `pendingEventsMax` lets all go and owes a fill instead.
    mutating func hold(_ event: StoredEvent) {
        guard case .pending(var held, let fillToLatest) = self else { return }
        // Released first, so `held` is the array's only reference and the append does not copy it.
        self = .pending(held: [], fillToLatest: fillToLatest)
        let overflow = held.count >= BusFollowedStreams.pendingEventsMax
        if overflow { held = [] } else { held.append(event) }
        self = .pending(held: held, fillToLatest: fillToLatest || overflow)
    }
}
