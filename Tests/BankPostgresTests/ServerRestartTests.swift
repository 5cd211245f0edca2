import BankCore
import BankPostgres
import Testing

/// The database going away and coming back.
struct ServerRestartTests {
    /// While the server is down every call fails with `unavailable` and changes nothing; once it is back the
    /// same ledger object works again by itself, and nothing committed before was lost.
    @Test func unavailableWhileDownAndRecoversAfter() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let a = try await bank.fundedAccount(owner: alice, cents: 1_000)
        let deposit = LedgerOperation(.deposit(account: a, amount: Money(cents: 5)), by: alice)
        try bank.peer.stopServer()
        let whileDown = await bank.ledger.apply([deposit, deposit])
        #expect(whileDown.allSatisfy { $0.failureCode == .unavailable })
        #expect(await bank.ledger.apply([deposit])[0].failureCode == .unavailable)
        try bank.peer.startServer()
        let after = try await bank.ledger.apply([deposit])[0].get()
        #expect(after.balance == Money(cents: 1_005))
        #expect(try await bank.ledger.verify() == [])
    }

    /// A crash-like stop (immediate) while a hub keeps sending keyed deposits: failures are only `unavailable`,
    /// the hub recovers by itself, and once the failed ones are sent again with their keys every deposit is in
    /// the ledger exactly once; nothing acknowledged was lost.
    @Test func crashMidRunLosesNothingAcknowledged() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let account = try await bank.fundedAccount(owner: alice, cents: 0)
        func deposit(_ index: Int) -> LedgerOperation {
            LedgerOperation(.deposit(account: account, amount: Money(cents: 1)), by: alice, idempotencyKey: "d-\(index)")
        }
        let peer = bank.peer
        let restarted = Box(false)
        let sawFailure = Box(false)
        // The server comes back only once the loop has seen it down: on a starved machine the loop may not run
        // at all during a fixed outage, and the test would then prove nothing.
        let crash = Task.detached {
            try await Task.sleep(for: .milliseconds(150))
            try peer.stopServer(immediate: true)
            let deadline = ContinuousClock.now + .seconds(60)
            while !sawFailure.get() && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try peer.startServer()
            restarted.set(true)
        }
        // At least 400 deposits, and on until the server is back: some are sent while it is down and some after.
        var sent = 0
        var failed: [LedgerOperation] = []
        var codes = Set<ErrorCode>()
        while sent < 400 || !restarted.get() {
            let batch = (sent..<sent + 4).map(deposit)
            sent += batch.count
            for (operation, result) in zip(batch, await bank.ledger.apply(batch)) {
                if case .failure(let error) = result {
                    failed.append(operation)
                    codes.insert(error.code)
                    sawFailure.set(true)
                }
            }
            try await Task.sleep(for: .milliseconds(3))
        }
        try await crash.value
        #expect(codes.subtracting([.unavailable]).isEmpty, "only unavailable while down, got \(codes)")
        #expect(!failed.isEmpty, "the crash happened while deposits were sent")
        for operation in failed {
            _ = try await bank.ledger.apply([operation])[0].get()
        }
        #expect(try await bank.ledger.balance(of: account) == Money(cents: Int64(sent)))
        #expect(try await bank.ledger.verify() == [])
    }
}
