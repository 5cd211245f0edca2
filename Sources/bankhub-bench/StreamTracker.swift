import Synchronization

/// Follows one stream per link: every event must carry the next seq (no gap, no duplicate), and a link is
/// caught up once it has seen its target seq. Records when the last link caught up.
final class StreamTracker: Sendable {
    private struct State {
        var lastSeq: [Int64]
        var target: [Int64?]
        var caughtUp: [Bool]
        var caughtUpCount = 0
        var lastCaughtUpAt: UInt64 = 0
        var received = 0
        var outOfOrder = 0
        var closedEarly = 0
        var finished = false
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(lastSeq: Array(repeating: 0, count: count), target: Array(repeating: nil, count: count),
                            caughtUp: Array(repeating: false, count: count)))
    }

    /// Sets where link `index` starts (the seq it has already seen) and the seq at which it is caught up.
    func expect(_ index: Int, from start: Int64, until target: Int64) {
        state.withLock { state in
            state.lastSeq[index] = max(state.lastSeq[index], start)
            state.target[index] = target
            Self.check(&state, index, now: Nanoseconds.now())
        }
    }

    /// Only the target (the start was set before the link opened, or events may already have arrived).
    func expect(_ index: Int, until target: Int64) {
        state.withLock { state in
            state.target[index] = target
            Self.check(&state, index, now: Nanoseconds.now())
        }
    }

    func start(_ index: Int, from seq: Int64) {
        state.withLock { $0.lastSeq[index] = seq }
    }

    func handle(_ index: Int, _ frame: LinkFrame) {
        let now = Nanoseconds.now()
        state.withLock { state in
            switch frame {
            case .event(_, _, let seq):
                state.received += 1
                if seq != state.lastSeq[index] + 1 { state.outOfOrder += 1 }
                state.lastSeq[index] = max(seq, state.lastSeq[index])
                Self.check(&state, index, now: now)
            case .closed:
                if !state.finished { state.closedEarly += 1 }
            case .reply:
                break
            }
        }
    }

    private static func check(_ state: inout State, _ index: Int, now: UInt64) {
        guard !state.caughtUp[index], let target = state.target[index], state.lastSeq[index] >= target else { return }
        state.caughtUp[index] = true
        state.caughtUpCount += 1
        state.lastCaughtUpAt = now
    }

    /// Links closing from now on are the benchmark's doing, not errors.
    func finish() { state.withLock { $0.finished = true } }

    struct Totals: Sendable {
        let caughtUp: Int
        let lastCaughtUpAt: UInt64
        let received: Int
        let outOfOrder: Int
        let closedEarly: Int
        /// Events each link should have seen (target - start) summed, minus what arrived in order.
        let missing: Int
    }

    func totals(expectedEvents: Int) -> Totals {
        state.withLock { state in
            Totals(caughtUp: state.caughtUpCount, lastCaughtUpAt: state.lastCaughtUpAt, received: state.received,
                   outOfOrder: state.outOfOrder, closedEarly: state.closedEarly,
                   missing: max(0, expectedEvents - (state.received - state.outOfOrder)))
        }
    }

    var caughtUpCount: Int { state.withLock { $0.caughtUpCount } }
}
