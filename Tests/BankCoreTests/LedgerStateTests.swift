import BankCore
import Testing

struct LedgerStateTests {
    let alice = UserID(1)
    let bob = UserID(2)
    let now = Timestamp(milliseconds: 1_000)

    private func ledger() throws -> (LedgerState, AccountID, AccountID) {
        var state = LedgerState.empty
        let a = try state.openAccount(owner: alice).id
        let b = try state.openAccount(owner: bob).id
        return (state, a, b)
    }

    /// A deposit credits the account and debits the bank's cash account: postings sum to zero.
    @Test func depositPostsAgainstCash() throws {
        var (state, a, _) = try ledger()
        let txn = try state.apply(.deposit(account: a, amount: Money(cents: 5_000)), by: alice, note: nil, at: now)
        #expect(txn.postings.map(\.amount.cents).reduce(0, +) == 0)
        #expect(state.accounts[a]?.balance.cents == 5_000)
        #expect(state.accounts[.cash]?.balance.cents == -5_000)
        #expect(state.totalBalance == .zero)
    }

    /// A transfer moves money between customers and reports the payer's balance.
    @Test func transferMovesMoney() throws {
        var (state, a, b) = try ledger()
        _ = try state.apply(.deposit(account: a, amount: Money(cents: 10_000)), by: alice, note: nil, at: now)
        let txn = try state.apply(.transfer(from: a, to: b, amount: Money(cents: 2_550)), by: alice, note: "rent", at: now)
        #expect(txn.balanceAfter(a)?.cents == 7_450)
        #expect(state.accounts[b]?.balance.cents == 2_550)
        #expect(txn.id == TransactionID(2))
    }

    /// Overdrawing is `insufficient_funds` and changes nothing.
    @Test func refusesOverdraft() throws {
        var (state, a, b) = try ledger()
        _ = try state.apply(.deposit(account: a, amount: Money(cents: 100)), by: alice, note: nil, at: now)
        let before = state.accounts
        #expect(throws: BankError(.insufficientFunds, "account 1001 holds 1.00, 1.01 was asked")) {
            try state.apply(.transfer(from: a, to: b, amount: Money(cents: 101)), by: alice, note: nil, at: now)
        }
        #expect(throws: BankError.self) {
            try state.apply(.withdraw(account: a, amount: Money(cents: 101)), by: alice, note: nil, at: now)
        }
        #expect(state.accounts == before)
    }

    /// Moving money out of someone else's account is `not_found`, so the account is not confirmed to exist.
    @Test func hidesOtherCustomersAccounts() throws {
        var (state, a, b) = try ledger()
        _ = try state.apply(.deposit(account: b, amount: Money(cents: 100)), by: bob, note: nil, at: now)
        for command in [LedgerCommand.transfer(from: b, to: a, amount: Money(cents: 1)),
                        .withdraw(account: b, amount: Money(cents: 1)), .deposit(account: b, amount: Money(cents: 1))] {
            do {
                _ = try state.apply(command, by: alice, note: nil, at: now)
                Issue.record("alice moved money on bob's account")
            } catch {
                #expect(error.code == .notFound)
            }
        }
    }

    /// A transfer to the same account, to a missing account, or to the cash account is refused.
    @Test func refusesBadCounterparties() throws {
        var (state, a, _) = try ledger()
        _ = try state.apply(.deposit(account: a, amount: Money(cents: 100)), by: alice, note: nil, at: now)
        #expect(throws: BankError.self) { try state.apply(.transfer(from: a, to: a, amount: Money(cents: 1)), by: alice, note: nil, at: now) }
        #expect((try? state.plan(.transfer(from: a, to: a, amount: Money(cents: 1)), by: alice)) == nil)
        do {
            _ = try state.plan(.transfer(from: a, to: AccountID(9_999), amount: Money(cents: 1)), by: alice)
            Issue.record("transfer to a missing account was planned")
        } catch { #expect(error.code == .notFound) }
    }

    /// A locked account can neither send nor receive.
    @Test func lockedAccountsRefuseMovements() throws {
        var (state, a, b) = try ledger()
        _ = try state.apply(.deposit(account: a, amount: Money(cents: 100)), by: alice, note: nil, at: now)
        try state.setStatus(.locked, of: b)
        do {
            _ = try state.apply(.transfer(from: a, to: b, amount: Money(cents: 1)), by: alice, note: nil, at: now)
            Issue.record("transfer into a locked account went through")
        } catch { #expect(error.code == .accountLocked) }
    }

    /// A customer may hold at most 20 accounts.
    @Test func limitsAccountsPerCustomer() throws {
        var state = LedgerState.empty
        for _ in 0..<state.accountsPerOwnerMax { _ = try state.openAccount(owner: alice) }
        #expect(throws: BankError.self) { try state.openAccount(owner: alice) }
    }

    /// Property: any sequence of random operations by random users keeps the total at zero, never leaves a
    /// customer below zero, and each account's balance equals the sum of its postings.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomOperationsConserveMoney(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var state = LedgerState.empty
        let users = (1...4).map { UserID(Int64($0)) }
        var owned: [AccountID: UserID] = [:]
        for user in users { for _ in 0..<3 { owned[try state.openAccount(owner: user).id] = user } }
        let accounts = owned.keys.sorted()
        var postingSums: [AccountID: Int64] = [:]
        var applied = 0
        for _ in 0..<4_000 {
            let account = accounts[Int(random.next() % UInt64(accounts.count))]
            let other = accounts[Int(random.next() % UInt64(accounts.count))]
            let amount = Money(cents: Int64(random.next() % 50_000) + 1)
            let actor = random.next() % 10 == 0 ? users[Int(random.next() % 4)] : owned[account]!
            let command: LedgerCommand = switch random.next() % 3 {
            case 0: .deposit(account: account, amount: amount)
            case 1: .withdraw(account: account, amount: amount)
            default: .transfer(from: account, to: other, amount: amount)
            }
            guard let txn = try? state.apply(command, by: actor, note: nil, at: now) else { continue }
            applied += 1
            #expect(txn.postings.map(\.amount.cents).reduce(0, +) == 0)
            for posting in txn.postings { postingSums[posting.account, default: 0] += posting.amount.cents }
        }
        #expect(applied > 1_000)
        #expect(state.totalBalance == .zero)
        for (id, account) in state.accounts {
            #expect(account.balance.cents == postingSums[id, default: 0])
            if account.kind == .customer { #expect(account.balance.cents >= 0) }
        }
    }
}

struct IdempotencyRegistryTests {
    let user = UserID(1)
    let command = LedgerCommand.transfer(from: AccountID(1001), to: AccountID(1002), amount: Money(cents: 100))

    /// The same key with the same arguments replays; another user's same key is independent.
    @Test func replaysSameRequestPerUser() throws {
        var registry = IdempotencyRegistry()
        let fingerprint = IdempotencyRegistry.Fingerprint(command, note: "x")
        #expect(try registry.lookup(user: user, key: "k", fingerprint: fingerprint) == .new)
        registry.record(user: user, key: "k", entry: .init(fingerprint: fingerprint, transaction: TransactionID(9)), at: Timestamp(milliseconds: 0))
        #expect(try registry.lookup(user: user, key: "k", fingerprint: fingerprint) == .replay(TransactionID(9)))
        #expect(try registry.lookup(user: UserID(2), key: "k", fingerprint: fingerprint) == .new)
    }

    /// The same key with other arguments is `conflict` naming the first differing field.
    @Test func reportsTheDifferingField() throws {
        var registry = IdempotencyRegistry()
        registry.record(user: user, key: "k", entry: .init(fingerprint: .init(command, note: nil), transaction: TransactionID(9)), at: Timestamp(milliseconds: 0))
        let other = LedgerCommand.transfer(from: AccountID(1001), to: AccountID(1002), amount: Money(cents: 200))
        do {
            _ = try registry.lookup(user: user, key: "k", fingerprint: .init(other, note: nil))
            Issue.record("a changed amount was replayed")
        } catch {
            #expect(error.code == .conflict)
            #expect(error.field == "amount")
        }
        #expect(throws: BankError.self) {
            try registry.lookup(user: user, key: "k", fingerprint: .init(.deposit(account: AccountID(1001), amount: Money(cents: 100)), note: nil))
        }
    }

    /// Keys outside 1-64 safe characters are refused.
    @Test(arguments: ["", String(repeating: "a", count: 65), "has space", "é"])
    func rejectsMalformedKeys(key: String) {
        #expect(throws: BankError.self) { try IdempotencyRegistry.validate(key: key) }
    }
}
