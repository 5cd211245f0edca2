import BankCore
import BankStorage
import Testing

/// Goals, payees, standing orders, profile changes, outbox retries, statement mailings and the ledger load, on
/// accounts opened through the records.
enum EverydayConformance {
    static func at(_ milliseconds: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds) }

    /// A customer with two open accounts, 1001 and 1002, opened through `LedgerRecords.insertAccount`.
    static func customer(_ db: any SQLDatabase) throws -> UserRecord {
        let alice = try RecordConformance.newUser(db, "alice")
        for id in [1001, 1002] as [Int64] {
            try LedgerRecords.insertAccount(db, .init(id: AccountID(id), owner: alice.id, kind: .customer, status: .open,
                                                      balance: Money(cents: 0)), name: "A\(id)", at: at(5))
        }
        return alice
    }

    /// A goal opens its account and reads back with its target; the ledger load finds accounts and goals.
    static func goals(_ db: any SQLDatabase) throws {
        let alice = try customer(db)
        let goal = GoalRecord(id: AccountID(1003), account: AccountID(1001), owner: alice.id, name: "Bike",
                              target: Money(cents: 50_000), targetDate: "2030-01-31", saved: Money(cents: 0), createdAt: at(6))
        try GoalRecords.insert(db, goal, account: .init(id: AccountID(1003), owner: alice.id, kind: .goal, status: .open,
                                                        balance: Money(cents: 0), parent: AccountID(1001)))
        #expect(try GoalRecords.goals(db, ownedBy: alice.id) == [goal])
        #expect(try GoalRecords.openGoals(db).map(\.id) == [AccountID(1003)])
        let snapshot = try LedgerRecords.load(db)
        #expect(snapshot.goals == [goal])
        #expect(snapshot.state.accounts(ownedBy: alice.id).count == 2, "the two customer accounts; the goal is apart")
        #expect(try LedgerRecords.violations(db) == [])
    }

    /// Payees: one per account and user (a second is a unique violation), renamed, deleted.
    static func payees(_ db: any SQLDatabase) throws {
        let alice = try customer(db)
        let payee = PayeeRecord(id: 1, user: alice.id, account: AccountID(1002), nickname: "Me", createdAt: at(7))
        try PayeeRecords.insert(db, payee)
        #expect(try PayeeRecords.lastID(db) == 1)
        do {
            try PayeeRecords.insert(db, PayeeRecord(id: 2, user: alice.id, account: AccountID(1002), nickname: "Again",
                                                    createdAt: at(8)))
            Issue.record("a second payee for one account was accepted")
        } catch let error as any SQLDatabaseError {
            #expect(error.isUniqueViolation)
        }
        #expect(try PayeeRecords.rename(db, PayeeRecord(id: 1, user: alice.id, account: AccountID(1002),
                                                        nickname: "Savings", createdAt: at(7))))
        #expect(try PayeeRecords.payees(db, of: alice.id).map(\.nickname) == ["Savings"])
        // The checked insert refuses a second payee for the account and one past the limit, writing nothing.
        let again = PayeeRecord(id: 2, user: alice.id, account: AccountID(1002), nickname: "Again", createdAt: at(8))
        #expect(try PayeeRecords.insert(db, again, payeesMax: 5) == .duplicate(id: 1))
        let other = PayeeRecord(id: 3, user: alice.id, account: AccountID(1001), nickname: "Other", createdAt: at(9))
        #expect(try PayeeRecords.insert(db, other, payeesMax: 1) == .full)
        #expect(try PayeeRecords.payees(db, of: alice.id).map(\.id) == [1])
        #expect(try PayeeRecords.delete(db, payee))
        #expect(try PayeeRecords.payee(db, 1, of: alice.id) == nil)
        #expect(try !PayeeRecords.delete(db, payee), "a payee already removed is not removed again")
        #expect(try !PayeeRecords.rename(db, payee), "nor renamed")
        #expect(try PayeeRecords.insert(db, other, payeesMax: 1) == nil)
        #expect(try PayeeRecords.payees(db, of: alice.id).map(\.id) == [3])
    }

    /// A standing order records a failed period (once), lists by status, and is cancelled once.
    static func orders(_ db: any SQLDatabase) throws {
        let alice = try customer(db)
        var order = StandingOrderRecord(id: 1, user: alice.id, from: AccountID(1001), to: AccountID(1002),
                                        amount: Money(cents: 100), every: .month, start: at(1_000), count: 3, note: nil,
                                        status: .active, nextIndex: 0, paid: 0, failed: 0, nextDue: at(1_000),
                                        createdAt: at(10), endedAt: nil)
        #expect(try OrderRecords.insert(db, order) == 1, "the database gives the first order id 1")
        #expect(try OrderRecords.lastID(db) == 1)
        order.nextIndex = 1
        order.failed = 1
        order.nextDue = at(2_000)
        let payment = StandingOrderPayment(order: 1, period: 0, due: at(1_000), transaction: nil,
                                           reason: "insufficient_funds", at: at(1_001))
        try OrderRecords.recordPeriod(db, payment, orderAfter: order)
        #expect(try OrderRecords.order(db, id: 1) == order)
        #expect(try OrderRecords.payments(db, order: 1, limit: 10) == [payment])
        #expect(try OrderRecords.list(db, user: alice.id, status: nil, limit: 10).count == 1)
        #expect(try OrderRecords.list(db, user: alice.id, status: .cancelled, limit: 10).isEmpty)
        #expect(try OrderRecords.cancel(db, id: 1, at: at(1_500)) == true)
        #expect(try OrderRecords.cancel(db, id: 1, at: at(1_600)) == false)
        #expect(try OrderRecords.active(db).isEmpty)
    }

    /// A profile change sets and clears contact fields.
    static func profile(_ db: any SQLDatabase) throws {
        let alice = try RecordConformance.newUser(db, "alice")
        try ProfileRecords.update(db, user: alice.id, ProfileChange(email: .set(nil), phone: .set("+15550100")))
        let after = try UserRecords.user(db, id: alice.id)
        #expect(after?.email == nil && after?.phone == "+15550100" && after?.fullName == alice.fullName)
    }

    /// Outbox retries move the next attempt, a first failure without a retry is failed for good.
    static func outboxRetries(_ db: any SQLDatabase) throws {
        let id = try OutboxRecords.insert(db, channel: "sms", recipient: "+1", subject: "s", body: "b", at: at(10))
        #expect(try OutboxRecords.markRetry(db, id: id, error: "timeout", nextAttemptAt: at(50)))
        #expect(try OutboxRecords.due(db, limit: 10, now: at(40)).isEmpty)
        #expect(try OutboxRecords.due(db, limit: 10, now: at(50)).map(\.attempts) == [1])
        let failed = try OutboxRecords.insertAttempted(db, channel: "email", recipient: "a@example.com", subject: "s",
                                                       body: "b", createdAt: at(60),
                                                       attempt: .failed(error: "refused", nextAttemptAt: nil))
        #expect(try OutboxRecords.recent(db, limit: 10).first { $0.id == failed }?.status == .failed)
        #expect(try OutboxRecords.pendingCount(db) == 1)
    }

    /// Each user gets a month's statement once: mailed users drop out of the unmailed list.
    static func mailings(_ db: any SQLDatabase) throws {
        let month = CalendarMonth(containing: at(1_706_745_600_000))
        let alice = try RecordConformance.newUser(db, "alice"), bob = try RecordConformance.newUser(db, "bob")
        #expect(try StatementRecords.unmailedUsers(db, month: month, role: .customer, limit: 10).map(\.id)
                == [alice.id, bob.id])
        try StatementRecords.insertMailing(db, user: alice.id, month: month, kind: .statement, outbox: 1, at: at(20))
        #expect(try StatementRecords.unmailedUsers(db, month: month, role: .customer, limit: 10).map(\.id) == [bob.id])
        #expect(try StatementRecords.mailingCount(db, month: month, kind: .statement) == 1)
    }
}
