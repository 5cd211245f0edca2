import BankCore
import BankPostgres
import Synchronization

/// The `ledger-pg` load: customer accounts opened and funded at the start, then `batch` callers per ledger
/// each keeping one transfer of 0.01 to 1.00 in flight between two random accounts (closed loop), so every
/// ledger has `batch` operations queued or in its current transaction, as a hub's ledger has from many
/// connections. Counts committed transfers and records each `apply`'s latency.
final class LedgerPGLoad: Sendable {
    /// Each account starts with this much (100.00), far more than the random walk of 0.01 to 1.00 transfers
    /// takes from one in a run, so no transfer is refused for lack of funds.
    static let depositCents: Int64 = 10_000
    static let transferCentsMax: UInt64 = 100

    let accounts: [(owner: UserID, account: AccountID)]
    let recorder = LatencyRecorder()
    private let running = Atomic<Bool>(true)
    private let committedCount = Atomic<Int>(0)

    private init(accounts: [(owner: UserID, account: AccountID)]) {
        precondition(accounts.count >= 2, "a transfer needs two accounts")
        self.accounts = accounts
    }

    /// Opens `count` customer accounts (owners numbered from `ownerBase` + 1, so processes do not share users)
    /// in one statement, and funds each with `depositCents` through the ledger (deposits committed in batches).
    static func setUp(_ ledger: PostgresLedger, count: Int, ownerBase: Int64) async throws -> LedgerPGLoad {
        precondition(count >= 2 && ownerBase >= 0, "two accounts or more, owners from 1")
        let ids: [Int64] = try await ledger.withConnection { connection throws(PostgresError) in
            // Accounts reference their owners (schema 2): the owners first, as bare users.
            try connection.query("""
                INSERT INTO users(id, username, password_hash, created_at)
                SELECT $1::bigint + n, 'bench-' || ($1::bigint + n), '-', 0 FROM generate_series(1, $2::int) n
                ON CONFLICT DO NOTHING
                """, [String(ownerBase), String(count)])
            // One INSERT rather than `openAccount` per account: set-up time, not the measurement.
            let rows = try connection.query("""
                INSERT INTO accounts(id, owner_id, kind, name, created_at)
                SELECT nextval('account_ids'), $1::bigint + n, 'customer', 'Bench', 0 FROM generate_series(1, $2::int) n
                RETURNING id, owner_id
                """, [String(ownerBase), String(count)])
            return (0..<rows.rowCount).flatMap { [rows.int64($0, 0), rows.int64($0, 1)] }
        }
        let accounts = stride(from: 0, to: ids.count, by: 2).map { (owner: UserID(ids[$0 + 1]), account: AccountID(ids[$0])) }
        precondition(accounts.count == count, "one row per account opened")
        let deposits = accounts.map {
            LedgerOperation(.deposit(account: $0.account, amount: Money(cents: depositCents)), by: $0.owner)
        }
        var start = 0
        while start < deposits.count {
            let chunk = Array(deposits[start..<min(start + ledger.operationsPerTransactionMax, deposits.count)])
            for result in await ledger.apply(chunk) {
                if case .failure(let error) = result { throw BenchError("funding the accounts failed: \(error.message)") }
            }
            start += chunk.count
        }
        return LedgerPGLoad(accounts: accounts)
    }

    /// Money the load put in: it must all still be in these accounts at the end (transfers only move it).
    var expectedCents: Int64 { Int64(accounts.count) * Self.depositCents }

    var committed: Int { committedCount.load(ordering: .relaxed) }

    /// Starts `batch` callers on each ledger; they run until `stop`. Returns their tasks, to await the drain.
    func start(_ ledgers: [PostgresLedger], batch: Int, seed: UInt64) -> [Task<Void, Never>] {
        precondition(!ledgers.isEmpty && batch > 0, "a ledger and a caller at least")
        var tasks: [Task<Void, Never>] = []
        for (index, ledger) in ledgers.enumerated() {
            for slot in 0..<batch {
                let callerSeed = seed &* 1_000_003 &+ UInt64(index * batch + slot)
                tasks.append(Task { await self.call(ledger, seed: callerSeed) })
            }
        }
        return tasks
    }

    /// Ends the load: callers finish the transfer they wait for and stop.
    func stop() {
        running.store(false, ordering: .releasing)
    }

    private func call(_ ledger: PostgresLedger, seed: UInt64) async {
        var random = SplitMix64(seed: seed)
        let count = UInt64(accounts.count)
        while running.load(ordering: .acquiring) {
            let from = Int(random.next() % count)
            let to = (from + 1 + Int(random.next() % (count - 1))) % accounts.count
            let cents = Int64(1 + random.next() % Self.transferCentsMax)
            let operation = LedgerOperation(.transfer(from: accounts[from].account, to: accounts[to].account,
                                                      amount: Money(cents: cents)), by: accounts[from].owner)
            let started = Nanoseconds.now()
            let result = await ledger.apply([operation])[0]
            switch result {
            case .success:
                recorder.record(from: started, to: Nanoseconds.now())
                committedCount.add(1, ordering: .relaxed)
            case .failure(let error):
                recorder.recordError(error.code.rawValue)
            }
        }
    }
}
