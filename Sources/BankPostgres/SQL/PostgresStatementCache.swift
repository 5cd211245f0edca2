/// The bookkeeping of a connection's generated prepared statements on its current server session: which SQL
/// text with which parameter types is prepared under which name (`s1`, `s2`…), and which one was used least
/// recently, the one to DEALLOCATE when `capacity` is reached. Pure bookkeeping: `PostgresConnection` talks to
/// the server.
///
/// One text may be prepared more than once, once per list of parameter types it was run with: a NULL sent with
/// an inferred type and the same parameter sent as `text` are two server statements, so each runs exactly as it
/// would unprepared (PQexecParams with those types).
struct PostgresStatementCache {
    /// A text (by the id `PostgresConnection.newTextID` gave it) and the type OIDs of its parameters.
    struct Key: Hashable {
        let text: Int
        let types: [UInt32]
    }

    private struct Entry {
        let name: String
        /// The `clock` of its last use: the smallest is evicted first.
        var lastUse: UInt64
    }

    /// The most statements prepared at once on one session.
    let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var clock: UInt64 = 0
    /// Names are never reused on a connection, even across sessions, so a name always means one statement.
    private var lastName = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a statement cache holds at least one statement")
        self.capacity = capacity
    }

    /// Statements prepared on the current session.
    var count: Int { entries.count }

    /// The server name of `key` when it is prepared on this session, now its most recently used.
    mutating func use(_ key: Key) -> String? {
        guard let index = entries.index(forKey: key) else { return nil }
        clock += 1
        entries.values[index].lastUse = clock
        return entries.values[index].name
    }

    /// The statement to DEALLOCATE before another is prepared: the least recently used, when the cache is full.
    var victim: (key: Key, name: String)? {
        guard entries.count >= capacity else { return nil }
        guard let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { return nil }
        return (oldest.key, oldest.value.name)
    }

    /// A fresh name for `key`, to PQprepare under; `add` it once the server accepted it.
    mutating func newName() -> String {
        lastName += 1
        return "s\(lastName)"
    }

    /// Records that `key` is prepared as `name` (room must have been made: see `victim`).
    mutating func add(_ key: Key, name: String) {
        precondition(entries.count < capacity, "evict before adding to a full statement cache")
        clock += 1
        entries[key] = Entry(name: name, lastUse: clock)
    }

    /// Forgets `key` after its DEALLOCATE.
    mutating func remove(_ key: Key) {
        entries[key] = nil
    }

    /// Forgets every statement: the session they lived on is gone.
    mutating func removeAll() {
        entries.removeAll()
    }
}
