import Synchronization

/// The closed loop of the `transfers` scenario: each connection keeps `inFlight` transfers outstanding and
/// sends the next one the moment a reply arrives. Connection `c` is a customer paying the others: it debits
/// one of its own accounts and credits an account of another customer. Runs on the client loop thread
/// (`handle`), so its state sits behind one uncontended mutex.
///
/// Request ids carry their slot (`id % inFlight`), so a reply finds its send time in an array, not a map.
final class TransferLoad: Sendable {
    struct Plan: Sendable {
        /// Every account, each customer's accounts next to each other.
        let allAccounts: [Int64]
        /// Connection `c` debits `allAccounts[payerRanges[c]]` (its customer's accounts) and credits any other.
        let payerRanges: [Range<Int>]
        let inFlight: Int
        let skew: Double
        let amountCentsMax: Int64
    }

    private struct State {
        var links: [BenchLink] = []
        var sentAt: [[UInt64]]
        var nextRound: [Int64]
        var outstanding = 0
        var committed = 0
        /// Committed per connection (so a run over several hubs can say what each hub committed).
        var committedByLink: [Int]
        var stopping = false
        var random = SplitMix64(seed: 0x5EED)
    }

    private let plan: Plan
    private let payeePicker: AccountPicker
    private let payerPickers: [AccountPicker]
    private let state: Mutex<State>
    let recorder = LatencyRecorder()

    init(plan: Plan) {
        for range in plan.payerRanges {
            precondition(!range.isEmpty && range.clamped(to: plan.allAccounts.indices) == range,
                         "a payer's accounts are some of all the accounts")
            precondition(range.count < plan.allAccounts.count, "another customer to pay")
        }
        self.plan = plan
        payeePicker = AccountPicker(count: plan.allAccounts.count, skew: plan.skew)
        payerPickers = plan.payerRanges.map { AccountPicker(count: $0.count, skew: plan.skew) }
        state = Mutex(State(sentAt: Array(repeating: Array(repeating: 0, count: plan.inFlight),
                                          count: plan.payerRanges.count),
                            nextRound: Array(repeating: 0, count: plan.payerRanges.count),
                            committedByLink: Array(repeating: 0, count: plan.payerRanges.count)))
    }

    /// Fills every connection's window.
    func start(_ links: [BenchLink]) {
        precondition(links.count == plan.payerRanges.count, "one link per payer")
        let frames = state.withLock { state -> [(BenchLink, String)] in
            state.links = links
            var frames: [(BenchLink, String)] = []
            for (index, link) in links.enumerated() {
                for slot in 0..<plan.inFlight { frames.append((link, nextRequest(&state, link: index, slot: slot))) }
            }
            return frames
        }
        for (link, frame) in frames { link.send(frame) }
    }

    /// A reply arrived (loop thread): record it and send the next transfer in the same slot.
    func handle(_ index: Int, _ frame: LinkFrame) {
        let now = Nanoseconds.now()
        switch frame {
        case .reply(let id, let ok, let code) where id >= 0:
            let slot = Int(id % Int64(plan.inFlight))
            let next = state.withLock { state -> (BenchLink, String)? in
                recorder.record(from: state.sentAt[index][slot], to: now)
                state.outstanding -= 1
                if ok {
                    state.committed += 1
                    state.committedByLink[index] += 1
                }
                guard !state.stopping else { return nil }
                return (state.links[index], nextRequest(&state, link: index, slot: slot))
            }
            if !ok { recorder.recordError(code ?? "unknown") }
            if let (link, text) = next { link.send(text) }
        case .reply(_, _, let code):
            recorder.recordError(code ?? "unknown")
        case .event:
            break
        case .closed(let code):
            // Links closed by the benchmark itself at the end are not errors.
            if !state.withLock({ $0.stopping }) { recorder.recordError("closed_\(code)") }
        }
    }

    private func nextRequest(_ state: inout State, link index: Int, slot: Int) -> String {
        let own = plan.payerRanges[index]
        let from = plan.allAccounts[own.lowerBound + payerPickers[index].pick(&state.random)]
        var payee = payeePicker.pick(&state.random)
        // Another customer's account; redrawn uniformly, so a payer owning the hottest accounts still ends.
        while own.contains(payee) { payee = Int(state.random.next() % UInt64(plan.allAccounts.count)) }
        let to = plan.allAccounts[payee]
        let cents = 1 + Int64(state.random.next() % UInt64(plan.amountCentsMax))
        let id = state.nextRound[index] * Int64(plan.inFlight) + Int64(slot)
        state.nextRound[index] += 1
        state.sentAt[index][slot] = Nanoseconds.now()
        state.outstanding += 1
        return #"{"id":\#(id),"op":"transfer","args":{"from":"\#(from)","to":"\#(to)","amount":"\#(Cents.text(cents))"}}"#
    }

    /// Starts the measurement window: what was committed before (warm-up) is forgotten.
    func beginMeasuring() -> Int {
        recorder.reset()
        return state.withLock { $0.committed }
    }

    var committed: Int { state.withLock { $0.committed } }
    var committedByLink: [Int] { state.withLock { $0.committedByLink } }
    var outstanding: Int { state.withLock { $0.outstanding } }

    /// Stops sending; replies still in flight are awaited by `drain`.
    func stop() {
        recorder.stop()
        state.withLock { $0.stopping = true }
    }

    /// Waits until every request has its reply, up to `timeoutSeconds`; returns how many are unanswered.
    func drain(timeoutSeconds: Double) async -> Int {
        let deadline = Nanoseconds.now() + UInt64(timeoutSeconds * 1e9)
        while outstanding > 0 && Nanoseconds.now() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return outstanding
    }
}
