import BankPostgres
import BankStorage
import BankStore
import WebSocketClient

/// The correctness verdict at the end of a money-moving scenario: no money created or lost, and every
/// balance equal to the sum of its postings.
struct LedgerVerdict: Sendable {
    /// The benchmark's accounts still hold exactly what was deposited into them (read over the protocol).
    let conserved: Bool
    let expectedCents: Int64
    let foundCents: Int64
    /// What `LedgerRecords.violations` found in the SQLite file, or `PostgresLedger.verify` in the PostgreSQL
    /// database (nil when neither is known).
    let violations: [String]?

    var holds: Bool { conserved && (violations?.isEmpty ?? true) }

    func add(to report: inout BenchReport) {
        report.add("conserved", holds)
        report.add("expected_total", Cents.text(expectedCents))
        report.add("found_total", foundCents < 0 ? "-" + Cents.text(-foundCents) : Cents.text(foundCents))
        if let violations {
            report.add("ledger_checked", true)
            report.add("violations", violations.count)
            for problem in violations.prefix(3) { Progress.line("ledger violation: \(problem)") }
        } else {
            report.add("ledger_checked", false)
        }
    }
}

enum LedgerCheck {
    /// Sums the balances of the benchmark's accounts over the protocol (through the first hub) and compares
    /// them with what was deposited; then, when the database is known (an SQLite file, or `--database` for hubs
    /// on PostgreSQL), runs the stored-ledger invariant check on it. Run after the load has drained (every
    /// request answered, so every acknowledged transfer is committed).
    static func verify(_ customers: [BenchCustomer], expectedCents expected: Int64, target: BenchTarget,
                       loop: WebSocketClientLoop) async throws -> LedgerVerdict {
        var found: Int64 = 0
        try await withThrowingTaskGroup(of: Int64.self) { group in
            var next = 0
            func startOne() {
                let customer = customers[next]
                next += 1
                group.addTask { try await balanceTotal(of: customer, address: target.address, loop: loop) }
            }
            while next < min(customers.count, BenchSetup.parallelCustomersMax) { startOne() }
            while let total = try await group.next() {
                found += total
                if next < customers.count { startOne() }
            }
        }
        var violations: [String]?
        if let path = target.databasePath {
            violations = try storedViolations(path: path)
        } else if let url = target.databaseURL {
            violations = try await storedViolations(url: url)
        }
        return LedgerVerdict(conserved: found == expected, expectedCents: expected, foundCents: found,
                             violations: violations)
    }

    private static func balanceTotal(of customer: BenchCustomer, address: HubAddress,
                                     loop: WebSocketClientLoop) async throws -> Int64 {
        let link = try await BenchSetup.authenticated(address, loop: loop, index: 0, token: customer.token)
        defer { link.close() }
        let accounts = try await link.call("accounts")["accounts"]?.arrayValue ?? []
        var total: Int64 = 0
        for account in accounts {
            guard let text = account["balance"]?.stringValue, let cents = Cents.parse(text) else {
                throw BenchError("accounts answered a balance that is not money")
            }
            total += cents
        }
        return total
    }

    /// Balance = sum of postings for every account, postings of each transaction sum to zero, all balances
    /// sum to zero: `LedgerRecords.violations` on a read-only connection, inside one read transaction.
    static func storedViolations(path: String) throws -> [String] {
        let connection = try SQLiteConnection(path: path, mode: .readOnly)
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        return try LedgerRecords.violations(connection)
    }

    /// The same on the hubs' PostgreSQL database, by `PostgresLedger.verify` (which also checks that every
    /// stream's seqs run 1, 2, 3, … with no gap: several hubs take seqs from one counter per stream).
    static func storedViolations(url: String) async throws -> [String] {
        let ledger = try PostgresLedger(conninfo: url)
        defer { ledger.close() }
        return try await ledger.verify()
    }
}
