import BankCore
import BankStorage

/// A money operation for `PostgresLedger.apply`: a deposit, withdrawal, transfer or goal movement by `user`,
/// after argument parsing, with its optional idempotency key (already checked by `IdempotencyRegistry.validate`).
public struct LedgerOperation: Sendable, Equatable {
    public let command: LedgerCommand
    public let user: UserID
    public let note: String?
    public let idempotencyKey: String?
    /// The caller's events and rows for the same commit, when the operation is applied (a hub's goal event, a
    /// standing order's progress). Not part of the operation's identity (`==`).
    public let followUp: LedgerFollowUp?

    public init(_ command: LedgerCommand, by user: UserID, note: String? = nil, idempotencyKey: String? = nil,
                followUp: LedgerFollowUp? = nil) {
        self.command = command
        self.user = user
        self.note = note
        self.idempotencyKey = idempotencyKey
        self.followUp = followUp
    }

    var fingerprint: IdempotencyRegistry.Fingerprint { .init(command, note: note) }

    public static func == (lhs: LedgerOperation, rhs: LedgerOperation) -> Bool {
        lhs.command == rhs.command && lhs.user == rhs.user && lhs.note == rhs.note
            && lhs.idempotencyKey == rhs.idempotencyKey
    }
}

/// What a caller adds to the commit of an applied operation: more events (after the ledger's, with seqs from the
/// same `stream_counters`) and rows. Both run on the ledger's thread inside the batch's transaction, and run
/// again if the batch is retried after a lost race, so they must only read and write through `db`.
public struct LedgerFollowUp: Sendable {
    /// The events to append, given the outcome (the database's transaction id) and the applied postings.
    public let events: @Sendable (any SQLDatabase, LedgerOutcome, AppliedTransaction) throws -> [LedgerEventDraft]
    /// Rows written after the transaction's own (they may reference it). A throw fails the whole batch (nothing
    /// commits, every operation of it answers the error): check everything business-like before submitting.
    public let write: @Sendable (any SQLDatabase, LedgerOutcome) throws -> Void

    public init(events: @escaping @Sendable (any SQLDatabase, LedgerOutcome, AppliedTransaction) throws -> [LedgerEventDraft],
                write: @escaping @Sendable (any SQLDatabase, LedgerOutcome) throws -> Void) {
        self.events = events
        self.write = write
    }
}

/// An event before it has a seq: its stream, kind and `data` JSON text.
public struct LedgerEventDraft: Sendable, Equatable {
    public let stream: StreamName
    public let kind: String
    public let data: String

    public init(stream: StreamName, kind: String, data: String) {
        self.stream = stream
        self.kind = kind
        self.data = data
    }
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
