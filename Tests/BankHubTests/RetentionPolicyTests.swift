import BankCore
import BankHub
import Testing

/// The janitor's cutoffs are a pure function of the policy and the time given (a fake clock here).
struct RetentionPolicyTests {
    /// Defaults: sessions at expiry, challenges after 24 h, login attempts after 400 days, keys after 24 h.
    @Test func cutsOffAtTheDocumentedAges() {
        let now = Timestamp(milliseconds: 1_000 * 86_400_000)
        let cutoffs = RetentionPolicy().cutoffs(now: now)
        #expect(cutoffs.sessionsExpiredBefore == now)
        #expect(cutoffs.challengesCreatedBefore == Timestamp(milliseconds: 999 * 86_400_000))
        #expect(cutoffs.loginAttemptsMadeBefore == Timestamp(milliseconds: 600 * 86_400_000))
        #expect(cutoffs.keysRecordedBefore == Timestamp(milliseconds: 999 * 86_400_000))
    }

    /// Moving the clock moves every cutoff by the same amount.
    @Test func followsTheClock() {
        var policy = RetentionPolicy()
        policy.idempotencyRecentMilliseconds = 1
        let earlier = policy.cutoffs(now: Timestamp(milliseconds: 10_000_000_000))
        let later = policy.cutoffs(now: Timestamp(milliseconds: 10_000_003_600))
        #expect(later.challengesCreatedBefore.milliseconds - earlier.challengesCreatedBefore.milliseconds == 3_600)
        #expect(later.keysRecordedBefore == Timestamp(milliseconds: 10_000_003_599))
    }
}
