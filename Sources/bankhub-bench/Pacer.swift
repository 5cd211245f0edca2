import Foundation
import Synchronization

/// Sends at a steady rate from a thread of its own (open loop): request `k` is due at `start + k / rate`,
/// whatever the hub does, and goes out as soon as the pacer sees it is due (it wakes every 200 µs).
final class Pacer: Sendable {
    private let rate: Double
    private let seconds: Double
    private let send: @Sendable (Int, UInt64) -> Void
    private let done = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let isDone = Mutex(false)

    init(rate: Double, seconds: Double, send: @escaping @Sendable (_ index: Int, _ dueAt: UInt64) -> Void) {
        self.rate = rate
        self.seconds = seconds
        self.send = send
    }

    /// Starts the thread; returns the start instant (monotonic nanoseconds).
    func start() -> UInt64 {
        let start = Nanoseconds.now()
        let total = Int(rate * seconds)
        let interval = 1e9 / rate
        let thread = Thread { [self] in
            var next = 0
            while next < total {
                let now = Nanoseconds.now()
                while next < total {
                    let due = start + UInt64(Double(next) * interval)
                    guard due <= now else { break }
                    send(next, due)
                    next += 1
                }
                usleep(200)
            }
            finish()
        }
        thread.name = "bench-pacer"
        thread.start()
        return start
    }

    private func finish() {
        let waiter = done.withLock { waiter -> CheckedContinuation<Void, Never>? in
            isDone.withLock { $0 = true }
            defer { waiter = nil }
            return waiter
        }
        waiter?.resume()
    }

    /// Returns once every request has been sent.
    func finished() async {
        await withCheckedContinuation { continuation in
            let already = done.withLock { waiter -> Bool in
                if isDone.withLock({ $0 }) { return true }
                waiter = continuation
                return false
            }
            if already { continuation.resume() }
        }
    }
}
