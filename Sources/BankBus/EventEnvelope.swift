/// What a hub publishes for each event: the stream it belongs to, its sequence number in that stream, and the
/// event's JSON bytes (opaque here).
///
/// Binary layout, big-endian, 15 bytes of header:
///
///     offset  size  field
///     0       1     version (1)
///     1       2     stream name length S (1...streamBytesMax), UTF-8
///     3       S     stream name
///     3+S     8     seq (UInt64, at least 1)
///     11+S    4     event length E (0...eventBytesMax)
///     15+S    E     event bytes
///
/// Decoding accepts exactly this and nothing more: trailing bytes, a short buffer, an unknown version, an empty
/// or non-UTF-8 stream name, seq 0 or a length over its limit throw `.malformedEnvelope`.
public struct EventEnvelope: Sendable, Equatable {
    public static let version: UInt8 = 1
    /// Longest stream name, in bytes.
    public static let streamBytesMax = 255
    /// Largest event body, in bytes (a NATS server's default max_payload is 1 MiB).
    public static let eventBytesMax = 1 << 20

    public let stream: String
    public let seq: UInt64
    public let event: [UInt8]

    public init(stream: String, seq: UInt64, event: [UInt8]) {
        precondition(!stream.isEmpty && stream.utf8.count <= Self.streamBytesMax, "stream name 1...255 bytes")
        precondition(seq >= 1, "sequence numbers start at 1")
        precondition(event.count <= Self.eventBytesMax, "event over eventBytesMax")
        self.stream = stream
        self.seq = seq
        self.event = event
    }

    public func encoded() -> [UInt8] {
        let name = Array(stream.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(15 + name.count + event.count)
        bytes.append(Self.version)
        append(UInt64(name.count), width: 2, to: &bytes)
        bytes += name
        append(seq, width: 8, to: &bytes)
        append(UInt64(event.count), width: 4, to: &bytes)
        bytes += event
        assert(bytes.count == 15 + name.count + event.count)
        return bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(BusError) -> EventEnvelope {
        var reader = Reader(bytes: bytes)
        guard try reader.integer(width: 1) == UInt64(version) else { throw malformed("unknown version") }
        let nameLength = Int(try reader.integer(width: 2))
        guard (1...streamBytesMax).contains(nameLength) else { throw malformed("stream name length \(nameLength)") }
        guard let stream = String(validating: try reader.take(nameLength), as: UTF8.self) else {
            throw malformed("stream name is not UTF-8")
        }
        let seq = try reader.integer(width: 8)
        guard seq >= 1 else { throw malformed("seq 0") }
        let eventLength = try reader.integer(width: 4)
        guard eventLength <= UInt64(eventBytesMax) else { throw malformed("event length \(eventLength)") }
        let event = try reader.take(Int(eventLength))
        guard reader.offset == bytes.count else { throw malformed("\(bytes.count - reader.offset) trailing bytes") }
        return EventEnvelope(stream: stream, seq: seq, event: event)
    }

    static func malformed(_ reason: String) -> BusError {
        BusError(.malformedEnvelope, "event envelope: \(reason)")
    }

    private func append(_ value: UInt64, width: Int, to bytes: inout [UInt8]) {
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    /// A bounds-checked cursor over the input.
    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func take(_ count: Int) throws(BusError) -> [UInt8] {
            guard count >= 0, bytes.count - offset >= count else { throw EventEnvelope.malformed("truncated") }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }

        mutating func integer(width: Int) throws(BusError) -> UInt64 {
            try take(width).reduce(0) { ($0 << 8) | UInt64($1) }
        }
    }
}
