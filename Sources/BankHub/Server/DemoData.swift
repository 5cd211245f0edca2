import BankCore
import BankStorage

/// Demo customers with six months of history, for `bankhub serve --demo` on an empty database.
extension HubServer {
    public struct DemoCredential: Sendable {
        public let username: String
        public let password: String
        public let accounts: [String]
    }

    /// Seeds the demo data through the hub's own services (so every rule and invariant applies) when the
    /// database has no users yet; call it before `start`. The seeded transactions get no receipts. Returns the credentials, or nothing when the database was not empty.
    public func seedDemo() async throws -> [DemoCredential] {
        let hasUsers = try await readers.read { db in
            try db.prepare("SELECT EXISTS(SELECT 1 FROM users)").queryOne { $0.int64(0) } == 1
        }
        guard !hasUsers else { return [] }
        let day: Int64 = 86_400_000
        let start = Clock.nowMilliseconds() - 182 * day
        let alice = try await auth.signUp(.init(username: "alice", password: "alice-demo-2026",
                                               email: "alice@example.com", phone: "+15550100", fullName: "Alice Liddell"))
        let bob = try await auth.signUp(.init(username: "bob", password: "bob-demo-2026", email: "bob@example.com",
                                             phone: "+15550101", fullName: "Bob Marley"))
        let aliceChecking = try await ledger.openAccount(owner: alice.id, name: "Checking", at: Timestamp(milliseconds: start)).account
        let aliceSavings = try await ledger.openAccount(owner: alice.id, name: "Savings", at: Timestamp(milliseconds: start)).account
        let bobChecking = try await ledger.openAccount(owner: bob.id, name: "Checking", at: Timestamp(milliseconds: start)).account
        for month in Int64(0)..<6 {
            let base = start + month * 30 * day + day
            try await move(.deposit(account: aliceChecking.id, amount: Money(cents: 320_000)), by: alice.id, "Salary", at: base)
            try await move(.deposit(account: bobChecking.id, amount: Money(cents: 275_000)), by: bob.id, "Salary", at: base + 3_600_000)
            try await move(.transfer(from: aliceChecking.id, to: bobChecking.id, amount: Money(cents: 95_000)),
                           by: alice.id, "Rent", at: base + 2 * day)
            try await move(.transfer(from: aliceChecking.id, to: aliceSavings.id, amount: Money(cents: 40_000)),
                           by: alice.id, "Savings goal", at: base + 3 * day)
            for week in Int64(0)..<4 {
                let cents = 4_250 + (month * 7 + week * 13) % 40 * 100
                try await move(.withdraw(account: aliceChecking.id, amount: Money(cents: cents)), by: alice.id,
                               "Groceries", at: base + (5 + week * 7) * day)
                try await move(.transfer(from: bobChecking.id, to: aliceChecking.id, amount: Money(cents: cents / 2)),
                               by: bob.id, "Dinner split", at: base + (6 + week * 7) * day)
            }
        }
        // The seeded history is not real activity: no receipts for it (they are derived from the ledger after
        // the receipt cursor, which moves past every seeded transaction here, before the worker starts).
        try await writer.write { db in try ReceiptRecords.skipAll(db) }
        for (name, role) in [("erin", Role.employee), ("adam", Role.admin)] {
            _ = try await auth.signUp(.init(username: name, password: "\(name)-demo-2026", email: "\(name)@example.com",
                                            phone: nil, fullName: name == "erin" ? "Erin Employee" : "Adam Admin", role: role))
        }
        return [
            DemoCredential(username: "erin", password: "erin-demo-2026", accounts: []),
            DemoCredential(username: "adam", password: "adam-demo-2026", accounts: []),
            DemoCredential(username: "alice", password: "alice-demo-2026",
                           accounts: [aliceChecking.id.description, aliceSavings.id.description]),
            DemoCredential(username: "bob", password: "bob-demo-2026", accounts: [bobChecking.id.description]),
        ]
    }

    private func move(_ command: LedgerCommand, by user: UserID, _ note: String, at milliseconds: Int64) async throws {
        let request = MoneyRequest(command: command, user: user, note: note, idempotencyKey: nil)
        let result = await withCheckedContinuation { continuation in
            Task { await ledger.submit(request, at: Timestamp(milliseconds: milliseconds)) { continuation.resume(returning: $0) } }
        }
        _ = try result.get()
    }
}
