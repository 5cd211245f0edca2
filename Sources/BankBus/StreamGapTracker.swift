/// Per stream, the last sequence number delivered to the hub, and what to do with the next envelope.
/// Pure state machine: no I/O, no clock. The hub fills gaps from the database (where every event is stored
/// with its seq) and then calls ``filled(stream:through:)``.
public struct StreamGapTracker: Sendable {
    /// What to do with one envelope.
    public enum Action: Sendable, Equatable {
        /// Next in order: hand it on. The tracker now counts it delivered.
        case deliver
        /// Seq at or below the last delivered: already seen, drop it.
        case dropDuplicate
        /// Seqs `from...to` were missed: read them (and this one) from the database, then call `filled`.
        case fillGap(stream: String, from: UInt64, to: UInt64)
    }

    /// Fill every known stream from the seq after its last delivered one (after a reconnect).
    public struct Fill: Sendable, Equatable {
        public let stream: String
        public let after: UInt64

        public init(stream: String, after: UInt64) {
            self.stream = stream
            self.after = after
        }
    }

    /// The last seq delivered per stream; a stream not yet seen starts at the seq given to `start`, or 0.
    public private(set) var lastDelivered: [String: UInt64] = [:]

    public init() {}

    /// Starts tracking `stream` at `seq` (what the database holds when the hub starts).
    public mutating func start(stream: String, at seq: UInt64) {
        lastDelivered[stream] = seq
    }

    public mutating func receive(_ envelope: EventEnvelope) -> Action {
        let last = lastDelivered[envelope.stream, default: 0]
        if envelope.seq <= last { return .dropDuplicate }
        if envelope.seq == last + 1 {
            lastDelivered[envelope.stream] = envelope.seq
            return .deliver
        }
        return .fillGap(stream: envelope.stream, from: last + 1, to: envelope.seq)
    }

    /// The hub has delivered everything in `stream` through `seq` (from the database). Never moves backwards.
    public mutating func filled(stream: String, through seq: UInt64) {
        lastDelivered[stream] = max(lastDelivered[stream, default: 0], seq)
    }

    /// After a reconnect anything may have been missed: every stream is to be filled after its last seq.
    public func fillAfterReconnect() -> [Fill] {
        lastDelivered.sorted { $0.key < $1.key }.map { Fill(stream: $0.key, after: $0.value) }
    }
}
