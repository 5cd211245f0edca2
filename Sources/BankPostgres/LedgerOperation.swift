import BankCore

/// A money operation for `PostgresLedger.apply`: a deposit, withdrawal, transfer or goal movement by `user`,
/// after argument parsing, with its optional idempotency key (already checked by `IdempotencyRegistry.validate`).
public struct LedgerOperation: Sendable, Equatable {
    public let command: LedgerCommand
    public let user: UserID
    public let note: String?
    public let idempotencyKey: String?

    public init(_ command: LedgerCommand, by user: UserID, note: String? = nil, idempotencyKey: String? = nil) {
        self.command = command
        self.user = user
        self.note = note
        self.idempotencyKey = idempotencyKey
    }

    var fingerprint: IdempotencyRegistry.Fingerprint { .init(command, note: note) }
}

/// What a committed (or replayed) operation answers: the transaction and the balance of the caller's account
/// (`command.reportedAccount`) right after it, and the events it appended with their seqs, in order.
public struct LedgerOutcome: Sendable, Equatable {
    public let transaction: TransactionID
    public let command: LedgerCommand
    public let note: String?
    public let at: Timestamp
    public let balance: Money
    /// True when an idempotent retry returned an earlier result; nothing moved and `events` is empty.
    public let replayed: Bool
    public let events: [LedgerEvent]
}

/// An event as committed on its stream: `seq` is gapless per stream across every hub.
public struct LedgerEvent: Sendable, Equatable {
    public let stream: StreamName
    public let seq: Int64
    public let kind: String
    /// The event's `data` as JSON text, the same bytes as BankStore's `LedgerEventData` renders.
    public let data: String
}

/// A key of one user, the unit of idempotency.
struct UserKey: Hashable, Comparable {
    let user: UserID
    let key: String

    static func < (lhs: UserKey, rhs: UserKey) -> Bool {
        (lhs.user.rawValue, lhs.key) < (rhs.user.rawValue, rhs.key)
    }
}
