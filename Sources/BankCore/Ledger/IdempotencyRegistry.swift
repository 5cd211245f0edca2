/// Remembers, per user, which idempotency keys were used for which request, so that a retried request
/// returns its original result instead of moving money twice.
///
/// Pure: the ledger service loads it from the database at start-up and records each new key when it applies
/// the transaction, in the same order as the ledger.
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
    }

    private struct Key: Hashable {
        let user: UserID
        let key: String
    }

    private var entries: [Key: Entry] = [:]

    public init() {}

    public var count: Int { entries.count }

    /// What to do with a request carrying `key`: `.new`, `.replay`, or `conflict` naming the differing field.
    public func lookup(user: UserID, key: String, fingerprint: Fingerprint) throws(BankError) -> Lookup {
        guard let entry = entries[Key(user: user, key: key)] else { return .new }
        if let field = entry.fingerprint.firstDifference(from: fingerprint) {
            throw BankError(.conflict, "idempotency_key \"\(key)\" was used with a different \(field)", field: field)
        }
        return .replay(entry.transaction)
    }

    public mutating func record(user: UserID, key: String, entry: Entry) {
        let previous = entries.updateValue(entry, forKey: Key(user: user, key: key))
        precondition(previous == nil, "an idempotency key is recorded once")
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
