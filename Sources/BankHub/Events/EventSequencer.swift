import BankCore
import BankStorage
import BankWire
import Synchronization

/// An event before it has a seq. `json` is its `data` as JSON text, encoded once when the draft is made.
/// A `derived` event is not appended to `events`: the job that causes it stores its seq in the rows it is
/// derived from (a ledger posting, see `LedgerEvents`), and replay renders it again from them.
struct EventDraft: Sendable {
    let stream: StreamName
    let kind: String
    let json: String
    let derived: Bool

    init(stream: StreamName, kind: String, data: JSONValue) {
        self.init(stream: stream, kind: kind, json: JSONWriter.string(data))
    }

    /// For drafts whose JSON is built directly (the ledger's hot path); `json` must be one valid object.
    init(stream: StreamName, kind: String, json: String, derived: Bool = false) {
        assert(json.hasPrefix("{") && json.hasSuffix("}"), "event data is a JSON object")
        self.stream = stream
        self.kind = kind
        self.json = json
        self.derived = derived
    }
}

/// Gives events their per-stream seq and writes them in the same commit as the change that caused them.
///
/// Alone on its database (`.memory`), seq assignment and submission to the writer happen under one lock, so
/// the writer sees events in seq order, commits them in that order, and publishes them in that order once
/// durable. Event jobs use the writer's `.ledger` isolation: a failed event write stops the process rather
/// than leave a hole in a stream.
///
/// One of several hubs (`.database`), seqs come from `stream_counters` inside the writer's job, the same
/// counters `PostgresLedger` takes (`SharedSeqs`): the counter row stays locked until COMMIT, so seqs are
/// gapless per stream in commit order across hubs. Such a job runs in a savepoint; one that loses a deadlock
/// or serialization race, or finds the database gone, rolls back alone and is queued again (nothing of it was
/// answered or published), never stopping the process.
final class EventSequencer: Sendable {
    /// Where seqs come from.
    enum Seqs: Sendable {
        /// The in-memory heads (one writer on the database).
        case memory
        /// `stream_counters`, inside each job (several hubs on one PostgreSQL database).
        case database
    }

    private let heads: Mutex<[String: Int64]>
    let writer: any StorageWriter
    let fanout: any EventFanout
    let seqs: Seqs

    init(heads: [String: Int64], writer: any StorageWriter, fanout: any EventFanout, seqs: Seqs = .memory) {
        self.heads = Mutex(heads)
        self.writer = writer
        self.fanout = fanout
        self.seqs = seqs
    }

    /// The last seq given on `stream` (0 when none), committed or about to be: the in-memory head. With seqs
    /// from the database it is a lower bound: the last seq this hub gave or published.
    func head(of stream: String) -> Int64 {
        heads.withLock { $0[stream] ?? 0 }
    }

    /// Publishes events committed elsewhere on this hub (the shared ledger's), noting their seqs as heads.
    func publishCommitted(_ events: [StoredEvent]) {
        guard !events.isEmpty else { return }
        noteHeads(events)
        fanout.publish(events)
        HubMetrics.eventsPublished(events.count)
    }

    private func noteHeads(_ events: [StoredEvent]) {
        heads.withLock { heads in
            for event in events where event.seq > heads[event.stream] ?? 0 { heads[event.stream] = event.seq }
        }
    }

    /// Queues `body` plus the events in one job; `completion` runs after the commit, once the events are published.
    /// `balances` are the account balances the change leaves (written once per account per commit).
    func submit(_ drafts: [EventDraft], at: Timestamp, balances: [BalanceWrite] = [],
                body: @escaping @Sendable (any SQLDatabase) throws -> Void = { _ in },
                completion: @escaping @Sendable () -> Void = {}) {
        submit(drafts, at: at, balances: balances, writing: { db, _ in try body(db) }, completion: completion)
    }

    /// As `submit(_:at:balances:body:completion:)`, but `writing` is given the events with their seqs, in
    /// draft order: it stores the `derived` ones itself; the others are appended to `events` after it.
    func submit(_ drafts: [EventDraft], at: Timestamp, balances: [BalanceWrite] = [],
                writing: @escaping @Sendable (any SQLDatabase, [StoredEvent]) throws -> Void,
                completion: @escaping @Sendable () -> Void = {}) {
        if case .database = seqs {
            precondition(balances.isEmpty && !drafts.contains(where: \.derived),
                         "with several hubs, money and its derived events go through the shared ledger")
            submitTakingSeqs(drafts, at: at, writing: writing, completion: completion, refusal: nil, attempt: 0)
            return
        }
        heads.withLock { heads in
            var logged: [StoredEvent] = []
            let events = drafts.map { draft -> StoredEvent in
                let stream = draft.stream.description
                let seq = (heads[stream] ?? 0) + 1
                heads[stream] = seq
                let event = StoredEvent(stream: stream, seq: seq, kind: draft.kind, data: draft.json,
                                        at: at.milliseconds)
                if !draft.derived { logged.append(event) }
                return event
            }
            writer.submit(.ledger, balances: balances, { [logged] db in
                try writing(db, events)
                for event in logged { try EventRecords.append(db, event) }
            }, completion: { [fanout] result in
                guard case .success = result else { preconditionFailure("ledger jobs fail-stop inside the writer") }
                fanout.publish(events)
                HubMetrics.eventsPublished(events.count)
                completion()
            })
        }
    }

    /// Thrown by a job's body to refuse the change with `error` (say, a row it changes conditionally was
    /// changed by another hub since it was read). Only with seqs from the database (`.database`): the job's
    /// savepoint rolls back, its seqs with it, and `submit(_:at:refusable:completion:)` answers `error`.
    /// Alone on a database (`.memory`) the seqs were given before the job ran, so a refusal stops the process
    /// as any failed event job does: there the caller's own guard must make refusing impossible.
    struct Refusal: Error {
        let error: BankError
    }

    /// As `submit(_:at:body:completion:)` (no balances), but `body` may throw `Refusal`: then nothing of the
    /// job is committed or published and `completion` gets the refusal's error.
    func submit(_ drafts: [EventDraft], at: Timestamp,
                refusable body: @escaping @Sendable (any SQLDatabase) throws -> Void,
                completion: @escaping @Sendable (Result<Void, BankError>) -> Void) {
        guard case .database = seqs else {
            submit(drafts, at: at, body: body, completion: { completion(.success(())) })
            return
        }
        let refused = Mutex<BankError?>(nil)
        submitTakingSeqs(drafts, at: at, writing: { db, _ in
            do { try body(db) } catch let refusal as Refusal {
                refused.withLock { $0 = refusal.error }
                throw refusal
            }
        }, completion: { completion(.success(())) },
        refusal: { completion(.failure(refused.withLock { $0 } ?? BankError(.internalError, "a job refused without a reason"))) },
        attempt: 0)
    }

    /// Longest pause before a job that lost a race, or found no database, is queued again.
    static let retryPauseMillisecondsMax = 1_000

    /// `.database`: one savepoint job that takes the seqs, runs `writing` and appends the events; published
    /// after its COMMIT, or queued again after a pause when it surely did not commit (`unavailable` without
    /// `outcomeUnknown`: a lost race, no connection), or answered by `refusal` when its body threw `Refusal`
    /// (rolled back with its savepoint). Anything else stops the process, as a failed event write
    /// does alone on a database, including a COMMIT whose outcome is unknown (sent again, its events could be
    /// stored twice under new seqs).
    private func submitTakingSeqs(_ drafts: [EventDraft], at: Timestamp,
                                  writing: @escaping @Sendable (any SQLDatabase, [StoredEvent]) throws -> Void,
                                  completion: @escaping @Sendable () -> Void,
                                  refusal: (@Sendable () -> Void)?, attempt: Int) {
        let taken = Mutex<[StoredEvent]>([])
        writer.submit(.savepoint, balances: [], { db in
            let events = try SharedSeqs.take(drafts, at: at, db)
            try writing(db, events)
            for event in events { try EventRecords.append(db, event) }
            taken.withLock { $0 = events }
        }, completion: { [self] result in
            switch result {
            case .success:
                publishCommitted(taken.withLock { $0 })
                completion()
            case .failure(is Refusal) where refusal != nil:
                refusal?()
            case .failure(let error as BankError) where error.code == .unavailable && !error.outcomeUnknown:
                let pause = min(Self.retryPauseMillisecondsMax, 10 << min(attempt, 7))
                Task {
                    try? await Task.sleep(for: .milliseconds(pause))
                    self.submitTakingSeqs(drafts, at: at, writing: writing, completion: completion, refusal: refusal,
                                          attempt: attempt + 1)
                }
            case .failure(let error):
                preconditionFailure("an event job failed (\(error)); stopping rather than leave a stream's change "
                                    + "unanswered")
            }
        })
    }
}

/// Seqs from `stream_counters` inside a writer job (several hubs): the same upsert `PostgresLedger` runs, one
/// counter per stream in name order (the lock order), each locked until the job's COMMIT.
enum SharedSeqs {
    static func take(_ drafts: [EventDraft], at: Timestamp, _ db: any SQLDatabase) throws -> [StoredEvent] {
        var counts: [String: Int64] = [:]
        for draft in drafts { counts[draft.stream.description, default: 0] += 1 }
        var next: [String: Int64] = [:]
        let statement = try db.prepare("""
            INSERT INTO stream_counters AS c(stream, last_seq) VALUES (?, ?)
            ON CONFLICT (stream) DO UPDATE SET last_seq = c.last_seq + EXCLUDED.last_seq RETURNING last_seq
            """)
        for stream in counts.keys.sorted() {
            let count = counts[stream] ?? 0
            guard let last = try statement.queryOne(stream, count, row: { $0.int64(0) }) else {
                preconditionFailure("an upsert returns its row")
            }
            next[stream] = last - count + 1
        }
        return drafts.map { draft in
            let stream = draft.stream.description
            guard let seq = next[stream] else { preconditionFailure("a seq was taken for every stream") }
            next[stream] = seq + 1
            return StoredEvent(stream: stream, seq: seq, kind: draft.kind, data: draft.json, at: at.milliseconds)
        }
    }
}
