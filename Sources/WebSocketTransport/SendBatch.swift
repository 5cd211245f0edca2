/// Text messages for many connections, handed to ``WebSocketServer/send(_:)`` in one call: the transport queues
/// them under one lock and wakes its service thread at most once for all of them.
///
/// Each connection receives its messages in the order they were appended. A message for several connections is
/// stored once; their queues share its bytes.
public struct SendBatch: Sendable {
    struct Entry: Sendable {
        let bytes: [UInt8]
        /// Where this message's recipients are in ``SendBatch/recipients``.
        let recipients: Range<Int>
    }

    private(set) var entries: [Entry] = []
    /// Every entry's recipients, back to back (one array for the whole batch).
    private(set) var recipients: [ConnectionID] = []

    public init() {}

    /// True when no message was appended (or none had a recipient).
    public var isEmpty: Bool { entries.isEmpty }

    /// Messages to queue in all: one per (message, recipient) pair.
    public var deliveryCount: Int { recipients.count }

    /// Appends one message for every connection in `connections` (none: nothing is appended).
    public mutating func append(_ bytes: [UInt8], to connections: some Sequence<ConnectionID>) {
        let start = recipients.count
        recipients.append(contentsOf: connections)
        guard recipients.count > start else { return }
        entries.append(Entry(bytes: bytes, recipients: start..<recipients.count))
    }

    /// Appends one message for one connection.
    public mutating func append(_ bytes: [UInt8], to connection: ConnectionID) {
        recipients.append(connection)
        entries.append(Entry(bytes: bytes, recipients: (recipients.count - 1)..<recipients.count))
    }

    /// Each message with its recipients, in the order appended.
    public func forEach(_ body: (_ bytes: [UInt8], _ recipients: ArraySlice<ConnectionID>) throws -> Void) rethrows {
        for entry in entries { try body(entry.bytes, recipients[entry.recipients]) }
    }
}
