/// An event as stored: its data is the JSON object sent as `data` on the wire.
public struct StoredEvent: Sendable, Equatable {
    public let stream: String
    public let seq: Int64
    public let kind: String
    public let data: String
    public let at: Int64

    public init(stream: String, seq: Int64, kind: String, data: String, at: Int64) {
        self.stream = stream
        self.seq = seq
        self.kind = kind
        self.data = data
        self.at = at
    }
}

/// The append-only event log that lets a client resume a stream from the last seq it saw.
public enum EventRecords {
    public static func append(_ db: any SQLDatabase, _ event: StoredEvent) throws {
        try db.prepare("INSERT INTO events(stream, seq, kind, data, created_at) VALUES (?, ?, ?, ?, ?)")
            .run(event.stream, event.seq, event.kind, event.data, event.at)
    }

    /// Events of `stream` with seq greater than `after`, oldest first, at most `limit`: the stored rows, and
    /// for an account stream merged by seq with the events derived from its postings (`DerivedEvents`). Call
    /// it inside one read transaction (as `DatabaseReaders.read` does) so both sources come from one snapshot.
    public static func events(_ db: any SQLDatabase, stream: String, after: Int64, limit: Int) throws -> [StoredEvent] {
        let stored = try db.prepare("SELECT seq, kind, data, created_at FROM events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?")
            .query(stream, after, limit) { row in
                StoredEvent(stream: stream, seq: row.int64(0), kind: row.string(1), data: row.string(2), at: row.int64(3))
            }
        guard let account = DerivedEvents.account(of: stream) else { return stored }
        let derived = try DerivedEvents.events(db, account: account, stream: stream, after: after, limit: limit)
        if derived.isEmpty { return stored }
        return Array((stored + derived).sorted { $0.seq < $1.seq }.prefix(limit))
    }

    /// The latest seq of every stream, stored or derived.
    public static func heads(_ db: any SQLDatabase) throws -> [String: Int64] {
        var heads = try DerivedEvents.heads(db)
        try db.prepare("SELECT stream, MAX(seq) FROM events GROUP BY stream").query { row in
            heads[row.string(0)] = max(heads[row.string(0)] ?? 0, row.int64(1))
        }
        return heads
    }

    public static func head(_ db: any SQLDatabase, stream: String) throws -> Int64 {
        let stored = try db.prepare("SELECT COALESCE(MAX(seq), 0) FROM events WHERE stream = ?").queryOne(stream) { $0.int64(0) } ?? 0
        guard let account = DerivedEvents.account(of: stream) else { return stored }
        return max(stored, try DerivedEvents.head(db, account: account))
    }
}
