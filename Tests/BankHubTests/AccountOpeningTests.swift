import BankStorage
import BankStore
import BankWire
import Foundation
import Testing

/// The first minute of a customer: `signup` opens a first account in the same commit as the user, and
/// `open_account` deposits its `initial_deposit` in the same commit as the account.
@Suite(.serialized) struct AccountOpeningTests {
    /// Sign-up answers the user and their first account ("Checking", empty, open); it is the user's one
    /// account, usable at once after login; a taken username stores neither user nor account.
    @Test func signupOpensTheFirstAccount() async throws {
        try await TestHub.with { hub in
            let client = try await hub.client()
            let signup = try await client.ok("signup", ["username": "alice", "password": "correct horse battery"])
            let account = try #require(signup["account"])
            #expect(account["name"] == "Checking")
            #expect(account["balance"] == "0.00")
            #expect(account["status"] == "open")
            #expect(signup["user"]?["username"] == "alice")
            _ = try await client.ok("login", ["username": "alice", "password": "correct horse battery"])
            #expect(try await client.ok("accounts")["accounts"]?.arrayValue == [account])
            _ = try await client.ok("deposit", ["account": try #require(account["id"]), "amount": "5.00"])
            #expect(try await client.errorCode("signup", ["username": "alice", "password": "another password"]) == "conflict")
            let connection = try hub.database()
            #expect(try connection.prepare("SELECT COUNT(*) FROM accounts WHERE kind = 'customer'").queryOne { $0.int64(0) } == 1)
            // The account and the user came in the same commit: same time, and the account is the user's.
            let sameCommit = try connection.prepare("""
                SELECT COUNT(*) FROM accounts a JOIN users u ON u.id = a.owner_id WHERE a.created_at = u.created_at
                """).queryOne { $0.int64(0) }
            #expect(sameCommit == 1)
        }
    }

    /// Many sign-ups at once each get their own account; none is shared or lost.
    @Test func concurrentSignupsGetDistinctAccounts() async throws {
        try await TestHub.with { hub in
            let accounts = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let client = try await hub.client()
                        defer { client.close() }
                        let signup = try await client.ok("signup", ["username": .string("user\(index)"),
                                                                    "password": "correct horse battery"])
                        return signup["account"]?["id"]?.stringValue ?? ""
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(accounts).count == 12)
            let client = try await hub.client()
            _ = try await client.ok("login", ["username": "user3", "password": "correct horse battery"])
            let own = try await client.ok("accounts")["accounts"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(own.count == 1 && accounts.contains(own[0]))
        }
    }

    /// `open_account` with `initial_deposit` answers the account holding it and the deposit's `txn`; the
    /// deposit is in the account's history and the ledger. A bad amount or one account too many changes nothing.
    @Test func openAccountDepositsInTheSameCommit() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            let opened = try await alice.client.ok("open_account", ["name": "Savings", "initial_deposit": "250.50"])
            let account = try #require(opened["account"])
            #expect(account["name"] == "Savings")
            #expect(account["balance"] == "250.50")
            #expect(opened["txn"]?["kind"] == "deposit")
            #expect(opened["txn"]?["to"] == account["id"])
            #expect(opened["txn"]?["amount"] == "250.50")
            let history = try await alice.client.ok("history", ["account": try #require(account["id"])])["entries"]?.arrayValue
            #expect(history?.map { $0["balance_after"] } == ["250.50"])
            let plain = try await alice.client.ok("open_account", [:])
            #expect(plain["account"]?["balance"] == "0.00")
            #expect(plain["txn"] == nil)
            for amount: JSONValue in ["0", "-1", "1.001", .number("5"), "1000000000.01"] {
                let reply = try await alice.client.request("open_account", ["initial_deposit": amount])
                #expect(reply["error"]?["code"] == "invalid_amount")
                #expect(reply["error"]?["field"] == "initial_deposit")
            }
            for _ in 3..<20 { _ = try await alice.client.ok("open_account", [:]) }
            #expect(try await alice.client.errorCode("open_account", ["initial_deposit": "10.00"]) == "conflict")
            let balances = try await alice.client.ok("accounts")["accounts"]?.arrayValue?.compactMap { $0["balance"]?.stringValue }
            #expect(balances?.count == 20)
            #expect(balances?.filter { $0 != "0.00" } == ["250.50"])
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }
}
