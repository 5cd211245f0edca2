import Histogram
import Synchronization

/// Latencies in microseconds in an HdrHistogram (3 significant digits, up to 10 minutes), safe to record
/// from any thread. Also counts errors by code.
final class LatencyRecorder: Sendable {
    struct Summary: Sendable {
        let count: UInt64
        let p50Milliseconds: Double
        let p99Milliseconds: Double
        let p999Milliseconds: Double
        let maxMilliseconds: Double
    }

    private static let highestMicroseconds: UInt64 = 600_000_000

    private struct State {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestMicroseconds,
                                          numberOfSignificantValueDigits: .three)
        var errors: [String: Int] = [:]
        var recording = true
    }

    private let state = Mutex(State())

    /// Records one latency given as a start and an end in monotonic nanoseconds (ignored once stopped).
    func record(from start: UInt64, to end: UInt64) {
        let microseconds = min(max(1, (end &- start) / 1_000), Self.highestMicroseconds)
        state.withLock { state in
            guard state.recording else { return }
            _ = state.histogram.record(microseconds)
        }
    }

    func recordError(_ code: String) {
        state.withLock { $0.errors[code, default: 0] += 1 }
    }

    /// Ends the measurement window: later samples (the drain after the deadline) are not counted.
    func stop() {
        state.withLock { $0.recording = false }
    }

    /// Forgets everything recorded so far (end of warm-up).
    func reset() {
        state.withLock { state in
            state.histogram.reset()
            state.errors = [:]
        }
    }

    var errors: [String: Int] { state.withLock { $0.errors } }

    var summary: Summary {
        state.withLock { state in
            let histogram = state.histogram
            func milliseconds(_ percentile: Double) -> Double {
                histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1_000
            }
            return Summary(count: histogram.totalCount, p50Milliseconds: milliseconds(50),
                           p99Milliseconds: milliseconds(99), p999Milliseconds: milliseconds(99.9),
                           maxMilliseconds: histogram.totalCount == 0 ? 0 : Double(histogram.max) / 1_000)
        }
    }
}
