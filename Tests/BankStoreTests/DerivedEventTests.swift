import BankCore
import BankStorage
import BankStore
import Testing

/// The ledger's account-stream events are derived from postings (schema migration 3): a replay must give
/// back exactly the events a live subscriber received — same seqs, same kinds, same data text — merged by
/// seq with the events still stored as rows, including rows written before the migration.
struct DerivedEventTests {
    private struct Fixture {
        let writer: DatabaseWriter
        let a: LedgerState.Account
        let b: LedgerState.Account
        var state: LedgerState
        let user: UserID
    }

    private func fixture(_ database: TemporaryDatabase) async throws -> Fixture {
        let writer = try DatabaseWriter(path: database.path)
        let user = try await writer.write { db in
            try UserRecords.insert(db, .init(username: "alice", passwordHash: "x", role: .customer, email: nil,
                                             phone: nil, fullName: nil, at: Timestamp(milliseconds: 1)))
        }
        var state = try await writer.write { db in try LedgerRecords.load(db).state }
        let a = try state.openAccount(owner: user.id)
        let b = try state.openAccount(owner: user.id)
        try await writer.write { db in
            try LedgerRecords.insertAccount(db, a, name: "A", at: Timestamp(milliseconds: 5))
            try LedgerRecords.insertAccount(db, b, name: "B", at: Timestamp(milliseconds: 5))
        }
        return Fixture(writer: writer, a: a, b: b, state: state, user: user.id)
    }

    /// Writes `txn` as the ledger does: postings with the seqs of their `balance` events, balances after.
    private func write(_ writer: DatabaseWriter, _ txn: AppliedTransaction, seqs: [Int64?]) async throws {
        try await writer.write { db in
            try LedgerRecords.insertTransaction(db, txn, idempotencyKey: nil, seqs: seqs)
            for posting in txn.postings { try LedgerRecords.updateBalance(db, posting.account, posting.balanceAfter) }
        }
    }

    @Test func replaysDerivedEventsMergedWithStoredOnes() async throws {
        let database = try TemporaryDatabase()
        var f = try await fixture(database)
        defer { f.writer.close() }
        let (a, b) = (f.a.id, f.b.id)
        let deposit = try f.state.apply(.deposit(account: a, amount: Money(cents: 10_000)), by: f.user, note: nil,
                                        at: Timestamp(milliseconds: 10))
        try await write(f.writer, deposit, seqs: [nil, 1])                       // a: balance 1
        let out = try f.state.apply(.transfer(from: a, to: b, amount: Money(cents: 2_500)), by: f.user, note: nil,
                                    at: Timestamp(milliseconds: 20))
        try await write(f.writer, out, seqs: [2, 1])                             // a: 2, 3; b: 1, 2
        let rejected = #"{"txn":null,"from":"\#(a)","to":"\#(b)","amount":"900.00","status":"rejected","reason":"insufficient_funds","at":"1970-01-01T00:00:00.025Z"}"#
        try await f.writer.write { db in
            try EventRecords.append(db, StoredEvent(stream: "account:\(a)", seq: 4, kind: "transfer", data: rejected, at: 25))
        }
        let back = try f.state.apply(.transfer(from: b, to: a, amount: Money(cents: 500)), by: f.user, note: nil,
                                     at: Timestamp(milliseconds: 30))
        try await write(f.writer, back, seqs: [3, 5])                            // b: 3, 4; a: 5, 6

        let transferOut = #"{"txn":"\#(out.id)","from":"\#(a)","to":"\#(b)","amount":"25.00","status":"completed","at":"1970-01-01T00:00:00.020Z"}"#
        let transferBack = #"{"txn":"\#(back.id)","from":"\#(b)","to":"\#(a)","amount":"5.00","status":"completed","at":"1970-01-01T00:00:00.030Z"}"#
        let expected: [(String, String)] = [
            ("balance", #"{"account":"\#(a)","balance":"100.00","txn":"\#(deposit.id)","at":"1970-01-01T00:00:00.010Z"}"#),
            ("balance", #"{"account":"\#(a)","balance":"75.00","txn":"\#(out.id)","at":"1970-01-01T00:00:00.020Z"}"#),
            ("transfer", transferOut),
            ("transfer", rejected),
            ("balance", #"{"account":"\#(a)","balance":"80.00","txn":"\#(back.id)","at":"1970-01-01T00:00:00.030Z"}"#),
            ("transfer", transferBack),
        ]
        let stream = "account:\(a)"
        let (all, tail, page, heads, head) = try await f.writer.write { db in
            (try EventRecords.events(db, stream: stream, after: 0, limit: 100),
             try EventRecords.events(db, stream: stream, after: 3, limit: 100),
             try EventRecords.events(db, stream: stream, after: 2, limit: 2),
             try EventRecords.heads(db), try EventRecords.head(db, stream: stream))
        }
        #expect(all.map(\.seq) == Array(1...6))
        #expect(all.map(\.kind) == expected.map(\.0))
        #expect(all.map(\.data) == expected.map(\.1))
        #expect(all.allSatisfy { $0.stream == stream })
        #expect(tail.map(\.seq) == [4, 5, 6] && tail.map(\.data) == expected.suffix(3).map(\.1))
        #expect(page.map(\.seq) == [3, 4])
        #expect(head == 6 && heads[stream] == 6 && heads["account:\(b)"] == 4)
        #expect(heads["account:1"] == nil)
        #expect(try await f.writer.write { db in try LedgerRecords.violations(db) }.isEmpty)
        let gap = try await f.writer.write { db in
            try EventRecords.append(db, StoredEvent(stream: stream, seq: 8, kind: "transfer", data: rejected, at: 40))
            return try LedgerRecords.violations(db)
        }
        #expect(gap == ["stream account:\(a) has seq 8 after 6"])
    }

    /// Postings written before migration 3 carry no seq; their events were stored as rows and still replay,
    /// followed by the events derived from the postings written since.
    @Test func replaysRowsStoredBeforeDerivedEvents() async throws {
        let database = try TemporaryDatabase()
        var f = try await fixture(database)
        defer { f.writer.close() }
        let a = f.a.id
        let stream = "account:\(a)"
        let old = try f.state.apply(.deposit(account: a, amount: Money(cents: 700)), by: f.user, note: nil,
                                    at: Timestamp(milliseconds: 10))
        try await write(f.writer, old, seqs: [])
        try await f.writer.write { db in
            try EventRecords.append(db, StoredEvent(stream: stream, seq: 1, kind: "balance", data: "{\"old\":1}", at: 10))
        }
        let new = try f.state.apply(.withdraw(account: a, amount: Money(cents: 200)), by: f.user, note: nil,
                                    at: Timestamp(milliseconds: 20))
        try await write(f.writer, new, seqs: [2, nil])
        let (events, head, heads) = try await f.writer.write { db in
            (try EventRecords.events(db, stream: stream, after: 0, limit: 10),
             try EventRecords.head(db, stream: stream), try EventRecords.heads(db))
        }
        #expect(events.map(\.seq) == [1, 2])
        #expect(events.map(\.data) == ["{\"old\":1}",
                                       #"{"account":"\#(a)","balance":"5.00","txn":"\#(new.id)","at":"1970-01-01T00:00:00.020Z"}"#])
        #expect(head == 2 && heads[stream] == 2)
        #expect(try await f.writer.write { db in try EventRecords.events(db, stream: stream, after: 1, limit: 10) }.map(\.seq) == [2])
    }
}
