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
/// Seq assignment and submission to the writer happen under one lock, so the writer sees events in seq order,
/// commits them in that order, and publishes them in that order once durable. Event jobs use the writer's
/// `.ledger` isolation: a failed event write stops the process rather than leave a hole in a stream.
final class EventSequencer: Sendable {
    private let heads: Mutex<[String: Int64]>
    let writer: any StorageWriter
    let fanout: any EventFanout

    init(heads: [String: Int64], writer: any StorageWriter, fanout: any EventFanout) {
        self.heads = Mutex(heads)
        self.writer = writer
        self.fanout = fanout
    }

    /// The last seq given on `stream` (0 when none), committed or about to be: the in-memory head.
    func head(of stream: String) -> Int64 {
        heads.withLock { $0[stream] ?? 0 }
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
}
