import BankCore
import BankPostgres
import BankStorage
import PostgresTestPeer
import Testing

/// Receipts read in commit order on a real throwaway server: two hubs write at once, the one holding the lower
/// transaction id commits last, and the receipt cursor still reads each transaction exactly once.
struct ReceiptOrderTests {
    /// One pass of the outbox worker's receipt read on `db` (horizon, cursor, read, then the cursor moved past
    /// what was read); the ids read.
    static func pass(_ db: any SQLDatabase, _ claims: PostgresWorkClaims) throws -> [TransactionID] {
        let horizon = try claims.receiptHorizon(db)
        let from = try ReceiptRecords.cursor(db)
        let read = try ReceiptRecords.transactions(db, after: from, horizon: horizon, limit: 32)
        if let last = read.last { #expect(try ReceiptRecords.advance(db, from: from, to: last.position)) }
        return read.map(\.transaction.id)
    }

    /// Hub A writes a transaction (with its postings, as the writer does) and has not committed when hub B
    /// writes and commits one with a higher id: a read now must not pass A's (it holds B's back), and once A
    /// commits the passes read both, each once. Reading without the horizon, B's was read, the cursor moved past
    /// it, and A's never got a receipt.
    @Test func aTransactionCommittedAfterAHigherOneIsStillReadOnce() throws {
        let peer = try PostgresPeer.start()
        defer { peer.stop() }
        let conninfo = peer.conninfo
        let setup = try PostgresHubDatabase.connect(conninfo)
        try PostgresHubDatabase.migrate(setup)
        try setup.execute("""
            INSERT INTO users(id, username, password_hash, created_at) VALUES (7, 'alice', 'x', 1);
            INSERT INTO accounts(id, owner_id, kind, name, balance, created_at) VALUES (1001, 7, 'customer', 'A', 0, 2);
            """)
        let hubA = try PostgresHubDatabase.connect(conninfo), hubB = try PostgresHubDatabase.connect(conninfo)
        let reader = try PostgresHubDatabase.connect(conninfo)
        let claims = PostgresWorkClaims(connect: { try PostgresHubDatabase.connect(conninfo) },
                                        statementMillisecondsMax: 2_000, holder: "reader")

        // Numbered by the ledger's rules (A's the lower id), written with their postings as the writer does; the
        // balances are left alone (both would update the cash account's row, and B would wait for A).
        var state = try LedgerRecords.load(setup).state
        let first = try state.apply(.deposit(account: AccountID(1001), amount: Money(cents: 500)), by: UserID(7),
                                    note: nil, at: Timestamp(milliseconds: 10))
        let second = try state.apply(.deposit(account: AccountID(1001), amount: Money(cents: 700)), by: UserID(7),
                                     note: nil, at: Timestamp(milliseconds: 11))
        #expect(first.id < second.id)
        try hubA.execute("BEGIN")
        try LedgerRecords.insertTransaction(hubA, first, idempotencyKey: nil)
        try hubB.execute("BEGIN")
        try LedgerRecords.insertTransaction(hubB, second, idempotencyKey: nil)
        try hubB.execute("COMMIT")

        var read = try Self.pass(reader, claims)
        #expect(read.isEmpty, "B's transaction waits while A's, written before it, may still commit")
        try hubA.execute("COMMIT")
        for _ in 0..<3 { read += try Self.pass(reader, claims) }
        #expect(read == [first.id, second.id], "each once, in the order they were written")
        #expect(try ReceiptRecords.cursor(reader).transaction == second.id)
    }
}
