/// Remembers, per user, which idempotency keys were used for which request, so that a retried request
/// returns its original result instead of moving money twice — however old the key.
///
/// Two tiers keep memory small. Keys used within the recent window (`idempotencyRecentMilliseconds` of the
/// hub's retention policy, 24 h by default) are held as full entries: a retry is answered from memory, and a
/// request still in flight is caught here before its commit. Older keys, whose transactions are committed,
/// are held only as 8-byte hashes (`StoredKeySet`): a miss there is a new key for sure; a hit is `.unresolved`,
/// and the caller reads the stored transaction (`Resolution`) and looks up again with it.
///
/// Pure: the ledger service loads it from the database at start-up, records each new key when it applies
/// the transaction, in the same order as the ledger, and compacts old entries into hashes now and then.
public struct IdempotencyRegistry: Sendable {
    /// What a request looked like: its op and the arguments that matter, in a fixed order.
    public struct Fingerprint: Sendable, Equatable {
        public let op: String
        public let fields: [Field]

        public struct Field: Sendable, Equatable {
            public let name: String
            public let value: String
            public init(_ name: String, _ value: String) {
                self.name = name
                self.value = value
            }
        }

        public init(op: String, fields: [Field]) {
            self.op = op
            self.fields = fields
        }

        public init(_ command: LedgerCommand, note: String?) {
            switch command {
            case .deposit(let account, let amount):
                self.init(op: "deposit", fields: [Field("account", "\(account)"), Field("amount", "\(amount)"),
                                                   Field("note", note ?? "")])
            case .withdraw(let account, let amount):
                self.init(op: "withdraw", fields: [Field("account", "\(account)"), Field("amount", "\(amount)"),
                                                    Field("note", note ?? "")])
            case .transfer(let from, let to, let amount):
                self.init(op: "transfer", fields: [Field("from", "\(from)"), Field("to", "\(to)"),
                                                    Field("amount", "\(amount)"), Field("note", note ?? "")])
            case .goalFund(_, let goal, let amount):
                self.init(op: "goal_fund", fields: [Field("goal", "\(goal)"), Field("amount", "\(amount)")])
            case .goalWithdraw(let goal, _, let amount):
                self.init(op: "goal_withdraw", fields: [Field("goal", "\(goal)"), Field("amount", "\(amount)")])
            }
        }

        /// The first argument in which `other` differs from this request, or nil when they are the same.
        public func firstDifference(from other: Fingerprint) -> String? {
            guard op == other.op else { return "op" }
            for (mine, theirs) in zip(fields, other.fields) where mine != theirs {
                return mine.name
            }
            return fields.count == other.fields.count ? nil : "args"
        }
    }

    public struct Entry: Sendable, Equatable {
        public let fingerprint: Fingerprint
        public let transaction: TransactionID

        public init(fingerprint: Fingerprint, transaction: TransactionID) {
            self.fingerprint = fingerprint
            self.transaction = transaction
        }
    }

    public enum Lookup: Sendable, Equatable {
        /// Never seen: apply the request and `record` the key.
        case new
        /// Seen with the same arguments: answer with the original transaction.
        case replay(TransactionID)
        /// Maybe used before the recent window: read the stored transaction of (user, key) into a
        /// `Resolution` and look up again with it, before applying anything.
        case unresolved
    }

    /// What the database held for (user, key), read after `generation` was taken from this registry. It stays
    /// valid while the generation does: a "not stored" can only turn stale when a newer entry for the same key
    /// moves from the full entries into the hashes, and every such move starts a new generation.
    public struct Resolution: Sendable, Equatable {
        public let generation: Int
        /// The stored transaction's entry; nil when the key is not stored (the hash hit was another key's).
        public let stored: Entry?

        public init(generation: Int, stored: Entry?) {
            self.generation = generation
            self.stored = stored
        }
    }

    private struct Key: Hashable {
        let user: UserID
        let key: String
    }

    private struct Recent {
        let entry: Entry
        /// When the key was recorded: it leaves the full entries once older than the window.
        let at: Timestamp
    }

    private var recent: [Key: Recent] = [:]
    private var stored = StoredKeySet()
    /// Changes whenever entries move into `stored`; see `Resolution`.
    public private(set) var generation = 0

    public init() {}

    /// Keys known, full entries and hashes together.
    public var count: Int { recent.count + stored.count }
    /// Keys held as full entries.
    public var recentCount: Int { recent.count }
    /// Keys held only as hashes.
    public var storedCount: Int { stored.count }

    /// What to do with a request carrying `key`: `.new`, `.replay`, `.unresolved` (then again with the
    /// `resolution` read from the database), or `conflict` naming the differing field.
    public func lookup(user: UserID, key: String, fingerprint: Fingerprint,
                       resolution: Resolution? = nil) throws(BankError) -> Lookup {
        if let found = recent[Key(user: user, key: key)] {
            return try Self.answer(found.entry, key: key, fingerprint: fingerprint)
        }
        guard stored.contains(StoredKeySet.hash(user: user, key: key)) else { return .new }
        guard let resolution, resolution.generation == generation else { return .unresolved }
        guard let entry = resolution.stored else { return .new }
        return try Self.answer(entry, key: key, fingerprint: fingerprint)
    }

    /// Records a key just applied (`at`: now), or a recent one loaded at start-up (`at`: its transaction's time).
    public mutating func record(user: UserID, key: String, entry: Entry, at: Timestamp) {
        let previous = recent.updateValue(Recent(entry: entry, at: at), forKey: Key(user: user, key: key))
        precondition(previous == nil, "an idempotency key is recorded once")
    }

    /// Adds the hashes (`StoredKeySet.hash`) of committed keys older than the window (start-up).
    public mutating func addStored(_ hashes: [UInt64]) {
        guard !hashes.isEmpty else { return }
        stored.insert(contentsOf: hashes)
        generation += 1
    }

    /// Moves the entries recorded before `cutoff` whose transactions are at most `committedThrough` into the
    /// hashes; returns how many moved. Only committed transactions may move: a retry that then misses the full
    /// entries is answered from what a reader finds in the database.
    public mutating func compact(recordedBefore cutoff: Timestamp, committedThrough: TransactionID) -> Int {
        var moved: [UInt64] = []
        recent = recent.filter { key, value in
            guard value.at < cutoff, value.entry.transaction <= committedThrough else { return true }
            moved.append(StoredKeySet.hash(user: key.user, key: key.key))
            return false
        }
        addStored(moved)
        return moved.count
    }

    private static func answer(_ entry: Entry, key: String, fingerprint: Fingerprint) throws(BankError) -> Lookup {
        if let field = entry.fingerprint.firstDifference(from: fingerprint) {
            throw BankError(.conflict, "idempotency_key \"\(key)\" was used with a different \(field)", field: field)
        }
        return .replay(entry.transaction)
    }

    /// Checks an idempotency key's form: 1–64 characters of `A-Z a-z 0-9 _ - . :`.
    public static func validate(key: String) throws(BankError) {
        let allowed = key.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "_-.:".utf8.contains(byte)
        }
        guard (1...64).contains(key.utf8.count), allowed else {
            throw .badRequest("idempotency_key must be 1 to 64 characters of A-Z a-z 0-9 _ - . :", field: "idempotency_key")
        }
    }
}
