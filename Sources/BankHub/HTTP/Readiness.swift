import BankWire
import BankStorage
import Dispatch
import Synchronization
import WebSocketTransport

/// What `/readyz` knows: whether the hub is draining, and how the last write probe through the writer went.
/// A pure state machine on a millisecond clock the caller passes in; ``Readiness`` runs it.
struct ReadinessState: Sendable {
    enum Verdict: Sendable, Equatable {
        case ready
        /// Shutdown began (SIGTERM): load balancers should stop sending work.
        case draining
        /// The last write probe failed (the database is not writable); `detail` says how.
        case storageFailed(String)
        /// A write probe has been waiting longer than `writeTimeoutMilliseconds` (the writer is stuck or the
        /// database locked by someone else).
        case storageStalled(milliseconds: Int64)
        /// The hub has a bus (`--bus`) and its link to NATS is down (`why`: libnats's last error, credentials
        /// masked): events committed on other hubs reach this hub's subscribers only through the database's
        /// head check (later) until it is back.
        case busDisconnected(why: String)
    }

    let probeIntervalMilliseconds: Int64
    let writeTimeoutMilliseconds: Int64
    private(set) var draining = false
    /// When the probe in flight started; nil when none is.
    private(set) var probeStartedAt: Int64?
    private var lastProbeAt: Int64
    private var lastFailure: String?

    /// `now` is when the database was last known writable (the hub's start-up wrote through the writer).
    init(probeIntervalMilliseconds: Int, writeTimeoutMilliseconds: Int, now: Int64) {
        precondition(probeIntervalMilliseconds > 0 && writeTimeoutMilliseconds > 0, "readiness periods are positive")
        self.probeIntervalMilliseconds = Int64(probeIntervalMilliseconds)
        self.writeTimeoutMilliseconds = Int64(writeTimeoutMilliseconds)
        lastProbeAt = now
    }

    mutating func startDraining() { draining = true }

    /// The verdict now, and whether to start a write probe (at most one in flight, at most one per interval).
    mutating func check(now: Int64) -> (verdict: Verdict, startProbe: Bool) {
        let startProbe = probeStartedAt == nil && now - lastProbeAt >= probeIntervalMilliseconds
        if startProbe { probeStartedAt = now }
        if draining { return (.draining, startProbe) }
        if let started = probeStartedAt, now - started > writeTimeoutMilliseconds {
            return (.storageStalled(milliseconds: now - started), startProbe)
        }
        if let lastFailure { return (.storageFailed(lastFailure), startProbe) }
        return (.ready, startProbe)
    }

    /// A probe's outcome: nil when it committed, else why not.
    mutating func probeFinished(failure: String?, now: Int64) {
        assert(probeStartedAt != nil, "a probe finished that was never started")
        probeStartedAt = nil
        lastProbeAt = now
        lastFailure = failure
    }
}

/// `/readyz`: 200 only while the hub accepts work, its database took a write within the last probe interval
/// and, with a bus, its link to NATS is up; 503 while draining (after SIGTERM), after a failed or stalled write,
/// or while the bus is unreachable. `/healthz` stays liveness.
///
/// The probe is one small real write through the group-commit writer (`StorageWriter.probe`), at most once per `readinessProbeIntervalMilliseconds` and only when `/readyz` is
/// asked; the answer never waits for it.
final class Readiness: Sendable {
    private let state: Mutex<ReadinessState>
    private let writer: any StorageWriter
    private let probes = Atomic<Int64>(0)
    /// Why the bus link is down now, nil while it is up (a cheap status read); nil for a hub without a bus.
    private let busProblem: (@Sendable () -> String?)?

    init(writer: any StorageWriter, configuration: HubConfiguration, busProblem: (@Sendable () -> String?)? = nil) {
        self.writer = writer
        self.busProblem = busProblem
        state = Mutex(ReadinessState(probeIntervalMilliseconds: configuration.readinessProbeIntervalMilliseconds,
                                     writeTimeoutMilliseconds: configuration.readinessWriteTimeoutMilliseconds,
                                     now: Self.now()))
    }

    func startDraining() { state.withLock { $0.startDraining() } }

    func verdict() -> ReadinessState.Verdict {
        let (verdict, startProbe) = state.withLock { $0.check(now: Self.now()) }
        if startProbe { probe() }
        // The database's verdict first: a hub that cannot write is not ready whatever the bus does.
        if verdict == .ready, let problem = busProblem?() { return .busDisconnected(why: problem) }
        return verdict
    }

    private func probe() {
        let counter = probes.add(1, ordering: .relaxed).newValue % Int64(Int32.max)
        writer.probe(counter, completion: { result in
            let failure: String? = switch result {
            case .success: nil
            case .failure(let error): "the write probe failed: \(error)"
            }
            self.state.withLock { $0.probeFinished(failure: failure, now: Self.now()) }
        })
    }

    var route: HTTPRoute {
        HTTPRoute.responding(to: "/readyz") { [self] request in
            guard request.path == "/readyz" else {
                return HTTPStatus.failure(.notFound("no such path"))
            }
            let body: String
            let status: Int
            switch verdict() {
            case .ready: (status, body) = (200, #"{"status":"ready"}"#)
            case .draining: (status, body) = (503, #"{"status":"draining"}"#)
            case .storageFailed(let detail):
                (status, body) = (503, JSONWriter.string(["status": "storage_failed", "detail": .string(detail)]))
            case .storageStalled(let milliseconds):
                (status, body) = (503, JSONWriter.string(["status": "storage_stalled",
                                                          "detail": .string("a write has waited \(milliseconds) ms")]))
            case .busDisconnected(let why):
                (status, body) = (503, JSONWriter.string(["status": "bus_disconnected", "detail": .string(
                    "the NATS bus is unreachable (\(why)): events from other hubs come from the database meanwhile, later")]))
            }
            return HTTPResponse(status: status, headers: [HTTPStatus.cacheControl], body: Array(body.utf8))
        }
    }

    /// Milliseconds on a monotonic clock.
    static func now() -> Int64 {
        Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000)
    }
}
