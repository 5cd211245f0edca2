import BankCore
import Testing

/// Savings goals in the pure ledger: goal accounts, goal movements, deletion, and the internal accounts that
/// no account op may reach.
struct GoalLedgerTests {
    let alice = UserID(1)
    let bob = UserID(2)
    let now = Timestamp(milliseconds: 1_000)

    /// alice's account holding 100.00, an empty goal on it, and bob's account.
    private func ledger() throws -> (LedgerState, account: AccountID, goal: AccountID, bobs: AccountID) {
        var state = LedgerState.empty
        let account = try state.openAccount(owner: alice).id
        let bobs = try state.openAccount(owner: bob).id
        _ = try state.apply(.deposit(account: account, amount: Money(cents: 10_000)), by: alice, note: nil, at: now)
        let goal = try state.openGoal(owner: alice, on: account).id
        return (state, account, goal, bobs)
    }

    /// The code of the error `body` throws; nil when it throws none.
    private func code(_ body: () throws -> Void) -> ErrorCode? {
        do {
            try body()
            return nil
        } catch {
            return (error as? BankError)?.code
        }
    }

    /// Funding a goal moves money from its account into the goal account, double entry; withdrawing moves it
    /// back. The total stays zero and the goal account is the customer's but not one of their accounts.
    @Test func fundsAndWithdrawsWithDoubleEntry() throws {
        var (state, account, goal, _) = try ledger()
        let funded = try state.apply(.goalFund(account: account, goal: goal, amount: Money(cents: 2_500)), by: alice,
                                     note: nil, at: now)
        #expect(funded.kind == .goalFund)
        #expect(funded.postings.map(\.amount.cents).reduce(0, +) == 0)
        #expect(funded.balanceAfter(account)?.cents == 7_500)
        #expect(funded.balanceAfter(goal)?.cents == 2_500)
        _ = try state.apply(.goalWithdraw(goal: goal, account: account, amount: Money(cents: 500)), by: alice, note: nil,
                            at: now)
        #expect(state.accounts[goal]?.balance.cents == 2_000)
        #expect(state.accounts[account]?.balance.cents == 8_000)
        #expect(state.totalBalance == .zero)
        #expect(state.accounts(ownedBy: alice).map(\.id) == [account])
        #expect(state.goals(ownedBy: alice).map(\.id) == [goal])
    }

    /// Neither the account nor the goal can go below zero: `insufficient_funds`, nothing changes.
    @Test func refusesToOverdrawAccountOrGoal() throws {
        var (state, account, goal, _) = try ledger()
        let before = state.accounts
        #expect(code { _ = try state.apply(.goalFund(account: account, goal: goal, amount: Money(cents: 10_001)),
                                           by: alice, note: nil, at: now) } == .insufficientFunds)
        #expect(code { _ = try state.apply(.goalWithdraw(goal: goal, account: account, amount: Money(cents: 1)),
                                           by: alice, note: nil, at: now) } == .insufficientFunds)
        #expect(state.accounts == before)
    }

    /// A goal account is internal: transfer to or from it, deposit into it, withdraw from it are `not_found`
    /// for its owner as for anyone; another customer's goal is `not_found` to goal movements too.
    @Test func goalAccountsAreNotAddressableAsAccounts() throws {
        var (state, account, goal, bobs) = try ledger()
        _ = try state.apply(.goalFund(account: account, goal: goal, amount: Money(cents: 1_000)), by: alice, note: nil, at: now)
        let one = Money(cents: 1)
        let commands: [(LedgerCommand, UserID)] = [
            (.transfer(from: account, to: goal, amount: one), alice), (.transfer(from: goal, to: account, amount: one), alice),
            (.deposit(account: goal, amount: one), alice), (.withdraw(account: goal, amount: one), alice),
            (.transfer(from: bobs, to: goal, amount: one), bob),
            (.goalFund(account: bobs, goal: goal, amount: one), bob), (.goalWithdraw(goal: goal, account: bobs, amount: one), bob),
            (.goalWithdraw(goal: goal, account: account, amount: one), bob),
            (.goalFund(account: account, goal: bobs, amount: one), alice),
        ]
        let before = state.accounts
        for (command, user) in commands {
            #expect(code { _ = try state.apply(command, by: user, note: nil, at: now) } == .notFound, "\(command)")
        }
        #expect(state.accounts == before)
    }

    /// The bank's cash account is not a customer account: a transfer to it or from it is `not_found`.
    @Test func cashAccountIsNotATransferTarget() throws {
        var (state, account, _, _) = try ledger()
        let before = state.accounts
        #expect(code { _ = try state.apply(.transfer(from: account, to: .cash, amount: Money(cents: 100)), by: alice,
                                           note: nil, at: now) } == .notFound)
        #expect(code { _ = try state.apply(.transfer(from: .cash, to: account, amount: Money(cents: 100)), by: alice,
                                           note: nil, at: now) } == .notFound)
        #expect(state.accounts == before)
    }

    /// Deleting a goal returns what it holds to its account in one transaction and closes it; a deleted goal
    /// is `not_found` from then on.
    @Test func deleteReturnsSavingsAndCloses() throws {
        var (state, account, goal, _) = try ledger()
        _ = try state.apply(.goalFund(account: account, goal: goal, amount: Money(cents: 3_000)), by: alice, note: nil, at: now)
        let returned = try #require(try state.deleteGoal(goal, by: alice, at: now))
        #expect(returned.kind == .goalWithdraw)
        #expect(returned.command.amount.cents == 3_000)
        #expect(state.accounts[account]?.balance.cents == 10_000)
        #expect(state.accounts[goal]?.status == .closed)
        #expect(state.goals(ownedBy: alice).isEmpty)
        #expect(code { _ = try state.deleteGoal(goal, by: alice, at: now) } == .notFound)
        #expect(code { _ = try state.apply(.goalFund(account: account, goal: goal, amount: Money(cents: 1)), by: alice,
                                           note: nil, at: now) } == .notFound)
        let empty = try state.openGoal(owner: alice, on: account).id
        #expect(try state.deleteGoal(empty, by: alice, at: now) == nil)
    }

    /// A locked account: no goal can be opened on it, funded from it, or deleted into it; nothing changes.
    @Test func lockedAccountRefusesGoalChanges() throws {
        var (state, account, goal, _) = try ledger()
        _ = try state.apply(.goalFund(account: account, goal: goal, amount: Money(cents: 100)), by: alice, note: nil, at: now)
        try state.setStatus(.locked, of: account)
        let before = state.accounts
        #expect(code { _ = try state.openGoal(owner: alice, on: account) } == .accountLocked)
        #expect(code { _ = try state.apply(.goalFund(account: account, goal: goal, amount: Money(cents: 1)), by: alice,
                                           note: nil, at: now) } == .accountLocked)
        #expect(code { _ = try state.deleteGoal(goal, by: alice, at: now) } == .accountLocked)
        #expect(state.accounts == before)
    }

    /// Goals open only on the owner's own open accounts, at most 20 at once; an account with goals cannot close.
    @Test func limitsGoalsAndGuardsTheirAccount() throws {
        var (state, account, goal, bobs) = try ledger()
        #expect(code { _ = try state.openGoal(owner: alice, on: bobs) } == .notFound)
        #expect(code { _ = try state.openGoal(owner: alice, on: goal) } == .notFound)
        #expect(code { _ = try state.openGoal(owner: alice, on: .cash) } == .notFound)
        for _ in 1..<LedgerState.goalsPerOwnerMax { _ = try state.openGoal(owner: alice, on: account) }
        #expect(code { _ = try state.openGoal(owner: alice, on: account) } == .conflict)
        _ = try state.deleteGoal(goal, by: alice, at: now)
        _ = try state.openGoal(owner: alice, on: account)
        #expect(code { try state.setStatus(.closed, of: account) } == .conflict)
        #expect(code { try state.setStatus(.locked, of: goal) } == .notFound)
    }

    /// Property: random deposits, withdrawals, transfers, goal openings, fundings, withdrawals and deletions by
    /// random users keep the total at zero, never leave a customer or goal account below zero, keep each
    /// balance equal to the sum of its postings, and leave every closed goal empty.
    @Test(arguments: [11, 12, 13, 14, 15] as [UInt64])
    func randomOperationsWithGoalsConserveMoney(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var state = LedgerState.empty
        let users = (1...3).map { UserID(Int64($0)) }
        var accounts: [AccountID] = []
        for user in users { for _ in 0..<2 { accounts.append(try state.openAccount(owner: user).id) } }
        var goals: [AccountID] = []
        var postingSums: [AccountID: Int64] = [:]
        var applied = 0
        func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
        for _ in 0..<5_000 {
            let account = pick(accounts)
            let owner = state.accounts[account]!.owner!
            let actor = random.next() % 10 == 0 ? pick(users) : owner
            let amount = Money(cents: Int64(random.next() % 40_000) + 1)
            let goal = goals.isEmpty ? account : pick(goals)
            let parent = state.accounts[goal]?.parent ?? account
            var command: LedgerCommand?
            switch random.next() % 8 {
            case 0: command = .deposit(account: account, amount: amount)
            case 1: command = .withdraw(account: account, amount: amount)
            case 2: command = .transfer(from: account, to: pick(accounts + goals + [.cash]), amount: amount)
            case 3: if let opened = try? state.openGoal(owner: actor, on: account) { goals.append(opened.id) }
            case 4, 5: command = .goalFund(account: parent, goal: goal, amount: amount)
            case 6: command = .goalWithdraw(goal: goal, account: parent, amount: amount)
            default: break
            }
            var transactions: [AppliedTransaction] = []
            if let command, let txn = try? state.apply(command, by: actor, note: nil, at: now) { transactions.append(txn) }
            if random.next() % 8 == 7, case .some(.some(let returned)) = try? state.deleteGoal(goal, by: actor, at: now) {
                transactions.append(returned)
            }
            for txn in transactions {
                applied += 1
                #expect(txn.postings.map(\.amount.cents).reduce(0, +) == 0)
                for posting in txn.postings { postingSums[posting.account, default: 0] += posting.amount.cents }
            }
        }
        #expect(applied > 1_000)
        #expect(goals.count > 5)
        #expect(state.totalBalance == .zero)
        for (id, account) in state.accounts {
            #expect(account.balance.cents == postingSums[id, default: 0])
            if account.kind != .cash { #expect(account.balance.cents >= 0) }
            if account.kind == .goal {
                #expect(state.accounts[account.parent!]?.owner == account.owner)
                if account.status == .closed { #expect(account.balance == .zero) }
            }
        }
        #expect(postingSums.keys.contains { state.accounts[$0]?.kind == .goal })
    }
}

/// Target dates of savings goals.
struct GoalRulesTests {
    /// Real calendar dates in range are accepted as given.
    @Test(arguments: ["2027-06-30", "2028-02-29", "2000-01-01", "2999-12-31"])
    func acceptsCalendarDates(text: String) throws {
        #expect(try GoalRules.targetDate(text) == text)
    }

    /// Anything else is `bad_request` naming `target_date`.
    @Test(arguments: ["2027-02-29", "2027-13-01", "2027-6-30", "27-06-30", "2027-06-30T00:00:00Z", "", "1999-12-31",
                      "3000-01-01", "2027-00-10", "2027-06-00", "２０２７-06-30"])
    func refusesOtherText(text: String) {
        #expect(throws: BankError.badRequest("target_date must be a date such as \"2027-06-30\" (YYYY-MM-DD)",
                                             field: "target_date")) { try GoalRules.targetDate(text) }
    }
}
