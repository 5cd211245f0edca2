import BankStorage
import DedicatedThreads
import Logging
import Synchronization

/// This hub's heartbeat in the database when several hubs may share it (`WorkClaims.beat`), so that the others
/// take the work it claimed within seconds of its death rather than after the claims' leases (120 s for the
/// outbox and the receipt cursor); and what this hub knows of its own heartbeat, so that it claims and starts no
/// delivery once the others may count it as dead.
///
/// A thread of its own renews the heartbeat every `beatIntervalMilliseconds` on a claims connection of its own:
/// not the writer's (a batch waiting on a lock would stop the beats, and the others would take the work of a hub
/// that is only slow) and not on Swift's cooperative pool (a libpq connect or statement blocks). `stop` ends the
/// thread and deletes the heartbeat, so whatever the hub still holds is free at once.
///
/// `isAlive` is true while the last beat that succeeded was sent less than `aliveMilliseconds` ago (three fifths
/// of the heartbeat's length, by this process's monotonic clock): a beat sent then lasts until at least two
/// fifths of it later on the server (2 s of the default 5 s), so a hub cut off from the database stops claiming
/// and starting deliveries before the others can take its claims. A delivery already under way when that
/// happens may still finish after another hub took the same message: it is then sent twice (at least once, as
/// the outbox always was).
final class HubLiveness: Sendable {
    /// How often the heartbeat is renewed.
    static let beatIntervalMilliseconds = 1_000

    private let claims: any WorkClaims
    private let logger: Logger
    /// When the last beat that succeeded was sent (before its statement ran); nil before the first and after stop.
    private let lastBeat = Mutex<ContinuousClock.Instant?>(nil)
    /// Claimed by the first `start` (or a `stop` before any): a stopped heartbeat stays stopped.
    private let started = OnceFlag()
    private let thread = Mutex<DedicatedThread?>(nil)

    /// The heartbeat of the hub that claims through `claims` (not started yet).
    init(claims: any WorkClaims, logger: Logger) {
        self.claims = claims
        self.logger = logger
    }

    /// How long after a successful beat this hub still counts itself alive: three fifths of the heartbeat.
    var aliveMilliseconds: Int64 { claims.heartbeatMilliseconds * 3 / 5 }

    /// Starts the heartbeat thread; its first beat follows at once. Once only.
    func start() {
        guard started.claim() else { return }
        let beating = DedicatedThread(name: "bankhub-liveness") { [self] control in run(control) }
        thread.withLock { $0 = beating }
    }

    /// Ends the thread and deletes the heartbeat (after this hub's workers stopped and gave back their claims).
    /// Idempotent.
    func stop() {
        _ = started.claim()
        thread.withLock { $0 }?.stop()
    }

    /// Whether this hub's heartbeat is known to be live in the database for a while yet: work may be claimed
    /// and started.
    func isAlive() -> Bool {
        guard let last = lastBeat.withLock({ $0 }) else { return false }
        return ContinuousClock.now - last < .milliseconds(aliveMilliseconds)
    }

    private func run(_ control: DedicatedThread.Control) {
        var connection: (any SQLDatabase)?
        var failing = false
        repeat {
            let sent = ContinuousClock.now
            do {
                let db = try connection ?? claims.openConnection()
                connection = db
                try claims.beat(db)
                lastBeat.withLock { $0 = sent }
                if failing {
                    logger.notice("liveness: heartbeat renewed again", metadata: ["holder": "\(claims.holder)"])
                    failing = false
                }
            } catch {
                connection = nil
                if !failing {
                    // Once per outage: the beats are retried every second.
                    logger.error("""
                        liveness: cannot renew the heartbeat; this hub claims nothing until it can, and the other hubs \
                        take what it holds once it has passed
                        """,
                                 metadata: ["holder": "\(claims.holder)", "error": "\(error)"])
                    failing = true
                }
            }
        } while control.waitForWork(timeoutSeconds: Double(Self.beatIntervalMilliseconds) / 1_000)
        lastBeat.withLock { $0 = nil }
        do {
            try claims.endBeat(connection ?? claims.openConnection())
        } catch {
            logger.warning("liveness: cannot delete the heartbeat; what this hub still holds is free once it passes",
                           metadata: ["holder": "\(claims.holder)", "error": "\(error)"])
        }
    }
}
