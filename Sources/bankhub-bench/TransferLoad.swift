import Synchronization

/// The closed loop of the `transfers` scenario: each connection keeps `inFlight` transfers outstanding and
/// sends the next one the moment a reply arrives. Runs on the client loop thread (`handle`), so its state
/// sits behind one uncontended mutex.
///
/// Request ids carry their slot (`id % inFlight`), so a reply finds its send time in an array, not a map.
final class TransferLoad: Sendable {
    struct Plan: Sendable {
        /// The accounts connection `c` may debit (its customer's accounts).
        let payerAccounts: [[Int64]]
        let allAccounts: [Int64]
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
        var stopping = false
        var random = SplitMix64(seed: 0x5EED)
    }

    private let plan: Plan
    private let payeePicker: AccountPicker
    private let payerPickers: [AccountPicker]
    private let state: Mutex<State>
    let recorder = LatencyRecorder()

    init(plan: Plan) {
        self.plan = plan
        payeePicker = AccountPicker(count: plan.allAccounts.count, skew: plan.skew)
        payerPickers = plan.payerAccounts.map { AccountPicker(count: $0.count, skew: plan.skew) }
        state = Mutex(State(sentAt: Array(repeating: Array(repeating: 0, count: plan.inFlight),
                                          count: plan.payerAccounts.count),
                            nextRound: Array(repeating: 0, count: plan.payerAccounts.count)))
    }

    /// Fills every connection's window.
    func start(_ links: [BenchLink]) {
        precondition(links.count == plan.payerAccounts.count, "one link per payer")
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
                if ok { state.committed += 1 }
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
        let payers = plan.payerAccounts[index]
        let from = payers[payerPickers[index].pick(&state.random)]
        var to = plan.allAccounts[payeePicker.pick(&state.random)]
        while to == from { to = plan.allAccounts[Int(state.random.next() % UInt64(plan.allAccounts.count))] }
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
