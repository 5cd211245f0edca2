import Synchronization

/// The `fanout` scenario's bookkeeping, touched by the pacer thread (sends) and the client loop thread
/// (events and replies), behind one mutex.
///
/// Payee `j` is paid only by payer link `j % payers` (``payer(ofPayee:payers:)``), and the hub handles one
/// connection's requests in order, so the n-th transfer sent to payee `j` causes the n-th `balance` event on
/// its stream: that pairs each event with the time its transfer was due (open loop: latency counts from when
/// the transfer should have been sent, so a stalled hub cannot hide its stall by slowing the sender).
final class FanoutLoad: Sendable {
    struct Plan: Sendable {
        let payerAccounts: [Int64]
        let payeeAccounts: [Int64]
    }

    private struct Payee {
        var dueAt: [UInt64] = []
        var received = 0
        var lastSeq: Int64 = 0
        var gaps = 0
    }

    private struct State {
        var payees: [Payee]
        var payers: [BenchLink] = []
        var sent = 0
        var answered = 0
        var committed = 0
        var eventsDelivered = 0
        var measureFrom: UInt64 = .max
        var eventsInWindow = 0
        var stopping = false
    }

    /// The one payer link that pays payee `payee` (``HubSpread`` places its subscriber on another hub).
    static func payer(ofPayee payee: Int, payers: Int) -> Int {
        precondition(payee >= 0 && payers > 0, "a payee and a payer")
        return payee % payers
    }

    let plan: Plan
    private let state: Mutex<State>
    let recorder = LatencyRecorder()

    init(plan: Plan) {
        self.plan = plan
        state = Mutex(State(payees: Array(repeating: Payee(), count: plan.payeeAccounts.count)))
    }

    /// The stream head each subscriber saw when it subscribed (before any transfer is sent).
    func start(from heads: [Int64]) {
        state.withLock { state in
            for (index, head) in heads.enumerated() { state.payees[index].lastSeq = head }
        }
    }

    func attach(payers: [BenchLink]) {
        state.withLock { $0.payers = payers }
    }

    /// Sends transfer number `k` (pacer thread), due at `dueAt`.
    func send(_ k: Int, dueAt: UInt64) {
        let payee = k % plan.payeeAccounts.count
        let payerIndex = Self.payer(ofPayee: payee, payers: plan.payerAccounts.count)
        let link = state.withLock { state -> BenchLink in
            state.payees[payee].dueAt.append(dueAt)
            state.sent += 1
            return state.payers[payerIndex]
        }
        link.send(#"{"id":\#(k),"op":"transfer","args":{"from":"\#(plan.payerAccounts[payerIndex])","to":"\#(plan.payeeAccounts[payee])","amount":"0.01"}}"#)
    }

    /// A payer's reply (loop thread).
    func handlePayer(_ index: Int, _ frame: LinkFrame) {
        switch frame {
        case .reply(_, let ok, let code):
            state.withLock { state in
                state.answered += 1
                if ok { state.committed += 1 }
            }
            if !ok { recorder.recordError(code ?? "unknown") }
        case .closed(let code):
            if !state.withLock({ $0.stopping }) { recorder.recordError("payer_closed_\(code)") }
        case .event:
            break
        }
    }

    /// An event on subscriber `index`'s stream (loop thread): check its seq, time its `balance` events.
    func handleSubscriber(_ index: Int, _ frame: LinkFrame) {
        let now = Nanoseconds.now()
        switch frame {
        case .event(let kind, _, let seq):
            let dueAt = state.withLock { state -> UInt64? in
                state.eventsDelivered += 1
                if now >= state.measureFrom { state.eventsInWindow += 1 }
                if seq != state.payees[index].lastSeq + 1 { state.payees[index].gaps += 1 }
                state.payees[index].lastSeq = max(seq, state.payees[index].lastSeq)
                guard kind == "balance" else { return nil }
                let n = state.payees[index].received
                state.payees[index].received += 1
                guard n < state.payees[index].dueAt.count else { return nil }
                let due = state.payees[index].dueAt[n]
                return due >= state.measureFrom ? due : nil
            }
            if let dueAt { recorder.record(from: dueAt, to: now) }
        case .closed(let code):
            if !state.withLock({ $0.stopping }) { recorder.recordError("subscriber_closed_\(code)") }
        case .reply(_, let ok, let code):
            if !ok { recorder.recordError(code ?? "unknown") }
        }
    }

    func beginMeasuring(at instant: UInt64) {
        recorder.reset()
        state.withLock { $0.measureFrom = instant }
    }

    func stop() { state.withLock { $0.stopping = true } }

    struct Totals: Sendable {
        let sent: Int
        let committed: Int
        let unanswered: Int
        /// Transfers committed whose `balance` event never reached the payee's subscriber.
        let missing: Int
        let outOfOrder: Int
        let eventsDelivered: Int
        let eventsInWindow: Int
    }

    var totals: Totals {
        state.withLock { state in
            let received = state.payees.reduce(0) { $0 + min($1.received, $1.dueAt.count) }
            return Totals(sent: state.sent, committed: state.committed, unanswered: state.sent - state.answered,
                          missing: state.committed - received, outOfOrder: state.payees.reduce(0) { $0 + $1.gaps },
                          eventsDelivered: state.eventsDelivered, eventsInWindow: state.eventsInWindow)
        }
    }
}
