import BankCore
@testable import BankHub
import BankStorage
import BankStore
import Testing

/// The scheduler's pure book of standing orders, driven with a fake clock (plain timestamps): what is due
/// when, one period of an order at a time, and how an order moves on and ends.
@Suite struct StandingOrderBookTests {
    static let start = Timestamp.parse(rfc3339: "2027-01-31T08:00:00Z")!

    static func order(_ id: Int64, every: Recurrence = .month, count: Int64? = nil, start: Timestamp = start) -> StandingOrderRecord {
        StandingOrderBook.newOrder(id: id, user: UserID(7), from: AccountID(1001), to: AccountID(1002),
                                   amount: Money(cents: 2_500), every: every, start: start, count: count, note: nil,
                                   at: Timestamp(milliseconds: start.milliseconds - 1_000))
    }

    static func at(_ milliseconds: Int64) -> Timestamp { Timestamp(milliseconds: start.milliseconds + milliseconds) }

    /// Nothing is due before the start; at it, the first period is, once, until it is recorded.
    @Test func offersEachPeriodOnceWhenDue() {
        var book = StandingOrderBook(orders: [Self.order(1)])
        #expect(book.takeDue(now: Self.at(-1), limit: 10).isEmpty)
        let plans = book.takeDue(now: Self.at(0), limit: 10)
        #expect(plans.map(\.period) == [0] && plans.first?.due == Self.start)
        #expect(book.takeDue(now: Self.at(5_000), limit: 10).isEmpty, "a busy order is not offered twice")
        #expect(book.nextDue == nil, "a busy order does not wake the scheduler")
        let after = StandingOrderBook.advanced(plans[0].order, paid: true, at: Self.at(10))
        book.finish(plans[0], after: after)
        #expect(book.order(1)?.paid == 1 && book.order(1)?.nextIndex == 1)
        #expect(book.nextDue == Timestamp.parse(rfc3339: "2027-02-28T08:00:00Z"))
        #expect(book.takeDue(now: Self.at(86_400_000), limit: 10).isEmpty)
    }

    /// A period that could not be processed (a transient error) stays due and is offered again.
    @Test func releasedPeriodIsOfferedAgain() {
        var book = StandingOrderBook(orders: [Self.order(1)])
        let first = book.takeDue(now: Self.at(0), limit: 10)
        book.release(1)
        #expect(book.takeDue(now: Self.at(1_000), limit: 10) == first)
    }

    /// An order with `count` payments completes after its last period, paid or failed, and leaves the book.
    @Test func completesAfterItsLastPayment() {
        var book = StandingOrderBook(orders: [Self.order(1, every: .day, count: 2)])
        var now = Self.at(0)
        for paid in [true, false] {
            let plan = book.takeDue(now: now, limit: 1)[0]
            book.finish(plan, after: StandingOrderBook.advanced(plan.order, paid: paid, at: now))
            now = Self.at(86_400_000)
        }
        #expect(book.order(1) == nil)
        #expect(book.takeDue(now: Self.at(10 * 86_400_000), limit: 10).isEmpty)
        let last = StandingOrderBook.advanced(StandingOrderBook.advanced(Self.order(1, every: .day, count: 2), paid: true,
                                                                         at: Self.at(0)), paid: false, at: Self.at(5))
        #expect(last.status == .completed && last.paid == 1 && last.failed == 1 && last.nextDue == nil)
        #expect(last.endedAt == Self.at(5))
    }

    /// After downtime an order owes several periods: they come one at a time, oldest first, each with its
    /// own due time, so each is paid (or failed) once.
    @Test func catchesUpMissedPeriodsOneByOne() {
        var book = StandingOrderBook(orders: [Self.order(1, every: .day)])
        let now = Self.at(3 * 86_400_000 + 1)
        var periods: [Int64] = []
        while let plan = book.takeDue(now: now, limit: 10).first {
            periods.append(plan.period)
            #expect(plan.due == Recurrence.day.occurrence(plan.period, from: Self.start))
            book.finish(plan, after: StandingOrderBook.advanced(plan.order, paid: true, at: now))
        }
        #expect(periods == [0, 1, 2, 3])
    }

    /// Several due orders come earliest first, at most `limit` of them; the rest on the next look.
    @Test func takesTheEarliestFirstUpToTheLimit() {
        var book = StandingOrderBook(orders: [Self.order(1, start: Self.at(3_000)), Self.order(2, start: Self.at(1_000)),
                                              Self.order(3, start: Self.at(2_000))])
        #expect(book.takeDue(now: Self.at(5_000), limit: 2).map(\.order.id) == [2, 3])
        #expect(book.takeDue(now: Self.at(5_000), limit: 2).map(\.order.id) == [1])
    }

    /// A cancellation claims the order (no payment can start) and then removes it; a busy order cannot be
    /// claimed.
    @Test func cancellationClaimsThenRemoves() {
        var book = StandingOrderBook(orders: [Self.order(1), Self.order(2)])
        _ = book.takeDue(now: Self.at(0), limit: 1)
        let busyClaimed = book.claim(1)
        #expect(!busyClaimed, "order 1 has a payment under way")
        let idleClaimed = book.claim(2)
        #expect(idleClaimed)
        #expect(book.takeDue(now: Self.at(0), limit: 10).isEmpty)
        book.remove(2)
        #expect(book.order(2) == nil && book.activeCount(of: UserID(7)) == 1)
    }
}
