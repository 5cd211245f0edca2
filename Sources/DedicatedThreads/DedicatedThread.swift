import CThreadName
import Dispatch
import Foundation
import Synchronization

/// A thread of its own for blocking work (SQLite, SMTP) that must never occupy Swift's cooperative pool: it
/// runs `body` once, sleeping between rounds of work until woken, and `stop()` asks it to finish and waits for
/// it. The one implementation of "thread + wake-up semaphore + stop flag + join" that the writer, the readers,
/// the completion thread and the outbox worker share.
///
/// `body` loops: `while control.waitForWork() { ...drain what is queued... }`, and returns when `waitForWork`
/// answers false (stop was asked and the body drained what it had). Wake-ups are counted, not lost: a `wake()`
/// before the body waits makes the next wait return at once.
public final class DedicatedThread: Sendable {
    /// What the body sees of its thread.
    public struct Control: Sendable {
        fileprivate let thread: DedicatedThread

        /// Sleeps until woken or, with a timeout, until it passes; false once `stop()` was asked (and no
        /// further wake-up is pending), which tells the body to finish.
        public func waitForWork(timeoutSeconds: Double? = nil) -> Bool {
            if let timeoutSeconds {
                _ = thread.wakeUp.wait(timeout: .now() + timeoutSeconds)
            } else {
                thread.wakeUp.wait()
            }
            return !thread.stopping.isClaimed
        }

        /// True once `stop()` was asked.
        public var isStopping: Bool { thread.stopping.isClaimed }
    }

    private let wakeUp = DispatchSemaphore(value: 0)
    private let stopping = OnceFlag()
    private let finished = DispatchSemaphore(value: 0)

    /// Starts a thread named `name` (1 MiB of stack) running `body`.
    public init(name: String, body: @escaping @Sendable (Control) -> Void) {
        let thread = Thread { [self] in
            Self.nameRunningThread(name)
            body(Control(thread: self))
            finished.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Starts a thread that first opens its connection with `open`, then runs `body` with it; returns once
    /// the connection is open, or throws what `open` threw (the thread has then ended). The connection is made,
    /// used and closed on the thread alone, so it need not be `Sendable` (SQLite and libpq handles are not).
    public static func opening<Connection, Failure: Error>(
        name: String, open: @escaping @Sendable () throws(Failure) -> Connection,
        body: @escaping @Sendable (Connection, Control) -> Void) throws(Failure) -> DedicatedThread {
        let opened = DispatchSemaphore(value: 0)
        let openError = Mutex<Failure?>(nil)
        let thread = DedicatedThread(name: name) { control in
            let connection: Connection
            do throws(Failure) {
                connection = try open()
            } catch {
                openError.withLock { $0 = error }
                opened.signal()
                return
            }
            opened.signal()
            body(connection, control)
        }
        opened.wait()
        if let error = openError.withLock({ $0 }) {
            thread.stop()
            throw error
        }
        return thread
    }

    /// Names the running thread for the OS, so `/proc/PID/task/*/comm`, `top -H` and `perf` show it (Foundation's
    /// `Thread.name` alone does not reach the kernel on Linux). The kernel keeps 15 bytes of it.
    private static func nameRunningThread(_ name: String) {
        let osNameBytesMax = 15
        _ = bankhub_name_running_thread(String(decoding: name.utf8.prefix(osNameBytesMax), as: UTF8.self))
    }

    /// Wakes the body's `waitForWork`. Safe from any thread.
    public func wake() {
        wakeUp.signal()
    }

    /// Asks the body to finish, wakes it, and waits until it returned. Idempotent; later calls return at once.
    public func stop() {
        guard stopping.claim() else { return }
        wakeUp.signal()
        finished.wait()
    }
}
