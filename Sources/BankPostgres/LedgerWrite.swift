import BankCore

/// Steps 4 and 5 of a batch: ids, seqs, and the one statement that writes everything.
enum LedgerWrite {
    /// Writes the applied transactions (in order) and returns their outcomes with the database's ids and seqs;
    /// with `commit`, also commits (in the write's pipeline when no operation has a follow-up). Two round trips
    /// without follow-ups (ids and seqs together, then the write), four with (`numberedOneByOne`).
    static func write(_ applied: [(operation: LedgerOperation, transaction: AppliedTransaction)],
                      balances: [(id: AccountID, balance: Money)], released: [UserKey], at: Timestamp, commit: Bool,
                      on connection: PostgresConnection) throws(LedgerBatch.Failure) -> [LedgerOutcome] {
        guard !applied.isEmpty || !released.isEmpty else {
            if commit { try LedgerBatch.commit(connection) }
            return []
        }
        let followsUp = applied.contains { $0.operation.followUp != nil }
        let (ids, events) = try LedgerBatch.failing { () throws(PostgresError) in
            followsUp ? try numberedOneByOne(applied, at: at, connection) : try numberedTogether(applied, connection)
        }
        let parameters = parameters(applied, ids, events, balances, released, at)
        let rows: PostgresResult
        if commit && !followsUp {
            rows = try LedgerBatch.committing([.prepared(LedgerSQL.write, parameters)], on: connection)[0]
        } else {
            rows = try LedgerBatch.failing { () throws(PostgresError) in
                try connection.query(LedgerSQL.write, parameters)
            }
        }
        let postingCount = applied.reduce(0) { $0 + $1.transaction.postings.count }
        precondition(rows.int64(0, 0) == Int64(applied.count) && rows.int64(0, 1) == Int64(postingCount)
                     && rows.int64(0, 2) == Int64(events.reduce(0) { $0 + $1.count })
                     && rows.int64(0, 3) == Int64(balances.count), "the write stored exactly what the batch applied")
        let outcomes = applied.indices.map { outcome(applied[$0], id: ids[$0], at: at, events: events[$0]) }
        guard followsUp else { return outcomes }
        let db = PostgresSQLConnection(connection)
        for (index, (operation, _)) in applied.enumerated() {
            guard let followUp = operation.followUp else { continue }
            try LedgerBatch.failing { () throws(PostgresError) in try followingUp { try followUp.write(db, outcomes[index]) } }
        }
        if commit { try LedgerBatch.commit(connection) }
        return outcomes
    }

    /// Ids and seqs in one pipeline, for transactions without follow-ups: their events' streams are known before
    /// their ids (`LedgerEventText.streams`), so the counters are locked in the same round trip as the ids are
    /// taken; the texts, which name the ids, are rendered after.
    private static func numberedTogether(_ applied: [(operation: LedgerOperation, transaction: AppliedTransaction)],
                                         _ connection: PostgresConnection) throws(PostgresError)
        -> (ids: [TransactionID], events: [[LedgerEvent]]) {
        guard !applied.isEmpty else { return ([], []) }
        let streams = applied.map { LedgerEventText.streams(for: $0.transaction) }
        let counts = streamCounts(streams.flatMap { $0 })
        var steps: [PostgresConnection.PipelineStep] = [.prepared(LedgerSQL.nextTransactionIDs, [String(applied.count)])]
        if !counts.isEmpty { steps.append(takeSeqsStep(counts)) }
        let answers = try connection.pipeline(steps)
        let ids = readIDs(answers[0], count: applied.count)
        let drafts = applied.indices.map { LedgerEventText.drafts(for: applied[$0].transaction, id: ids[$0]) }
        precondition(drafts.map { $0.map(\.stream) } == streams, "the events' streams are known before their ids")
        return (ids, numbered(drafts, first: counts.isEmpty ? [:] : firstSeqs(answers[1], counts)))
    }

    /// Ids, then the events with the follow-ups' (which may read the database and see the ids), then their
    /// seqs: a round trip each.
    private static func numberedOneByOne(_ applied: [(operation: LedgerOperation, transaction: AppliedTransaction)],
                                         at: Timestamp, _ connection: PostgresConnection) throws(PostgresError)
        -> (ids: [TransactionID], events: [[LedgerEvent]]) {
        let ids = try transactionIDs(applied.count, connection)
        let db = PostgresSQLConnection(connection)
        var drafts: [[LedgerEventDraft]] = []
        drafts.reserveCapacity(applied.count)
        for (index, (operation, transaction)) in applied.enumerated() {
            var list = LedgerEventText.drafts(for: transaction, id: ids[index])
            if let followUp = operation.followUp {
                let outcome = outcome(applied[index], id: ids[index], at: at, events: [])
                list += try followingUp { try followUp.events(db, outcome, transaction) }
            }
            drafts.append(list)
        }
        return (ids, try sequenced(drafts, connection))
    }

    /// Appends `drafts` to their streams with the next seqs (counters locked in name order) and returns them
    /// as stored: the events a transaction adds beside money (`PostgresLedger.transact`).
    static func append(_ drafts: [LedgerEventDraft], at: Timestamp,
                       on connection: PostgresConnection) throws(PostgresError) -> [LedgerEvent] {
        guard !drafts.isEmpty else { return [] }
        let events = try sequenced([drafts], connection)[0]
        let rows = try connection.query(LedgerSQL.appendEvents, [
            String(at.milliseconds), PostgresArray.texts(events.map(\.stream.description)),
            PostgresArray.integers(events.map(\.seq)), PostgresArray.texts(events.map(\.kind)),
            PostgresArray.texts(events.map(\.data)),
        ])
        precondition(rows.int64(0, 0) == Int64(events.count), "every event appended")
        return events
    }

    /// The drafts with their seqs: each stream's next ones, in draft order.
    private static func sequenced(_ drafts: [[LedgerEventDraft]],
                                  _ connection: PostgresConnection) throws(PostgresError) -> [[LedgerEvent]] {
        let counts = streamCounts(drafts.flatMap { $0.map(\.stream) })
        guard !counts.isEmpty else { return drafts.map { _ in [] } }
        let first = firstSeqs(try connection.query(LedgerSQL.takeSeqs, takeSeqsParameters(counts)), counts)
        return numbered(drafts, first: first)
    }

    /// The drafts with their seqs, each stream's counting up from `first`, in draft order.
    private static func numbered(_ drafts: [[LedgerEventDraft]], first: [StreamName: Int64]) -> [[LedgerEvent]] {
        var next = first
        return drafts.map { drafts in
            drafts.map { draft in
                guard let seq = next[draft.stream] else { preconditionFailure("a seq was taken for every stream") }
                next[draft.stream] = seq + 1
                return LedgerEvent(stream: draft.stream, seq: seq, kind: draft.kind, data: draft.data)
            }
        }
    }

    private static func outcome(_ applied: (operation: LedgerOperation, transaction: AppliedTransaction),
                                id: TransactionID, at: Timestamp, events: [LedgerEvent]) -> LedgerOutcome {
        guard let balance = applied.transaction.balanceAfter(applied.operation.command.reportedAccount) else {
            preconditionFailure("a transaction always posts to the caller's account")
        }
        return LedgerOutcome(transaction: id, command: applied.operation.command, note: applied.operation.note,
                             at: at, balance: balance, replayed: false, events: events)
    }

    /// Runs a caller's follow-up; what it throws fails the batch (a `PostgresError` keeps its kind, so a lost
    /// race is still retried).
    private static func followingUp<T>(_ body: () throws -> T) throws(PostgresError) -> T {
        do {
            return try body()
        } catch let error as PostgresError {
            throw error
        } catch {
            throw PostgresError(sqlState: nil, message: "a follow-up of the batch failed: \(error)", sql: nil)
        }
    }

    private static func transactionIDs(_ count: Int, _ connection: PostgresConnection) throws(PostgresError)
        -> [TransactionID] {
        guard count > 0 else { return [] }
        return readIDs(try connection.query(LedgerSQL.nextTransactionIDs, [String(count)]), count: count)
    }

    private static func readIDs(_ rows: PostgresResult, count: Int) -> [TransactionID] {
        precondition(rows.rowCount == count, "one id per transaction")
        return (0..<count).map { TransactionID(rows.int64($0, 0)) }
    }

    /// How many new events each stream gets, by name (the counters' lock order).
    private static func streamCounts(_ streams: [StreamName]) -> [String: (stream: StreamName, count: Int64)] {
        var counts: [String: (stream: StreamName, count: Int64)] = [:]
        for stream in streams { counts[stream.description, default: (stream, 0)].count += 1 }
        return counts
    }

    /// `LedgerSQL.takeSeqs` for `counts` (not empty): locks the counters in name order.
    private static func takeSeqsStep(_ counts: [String: (stream: StreamName, count: Int64)])
        -> PostgresConnection.PipelineStep {
        .prepared(LedgerSQL.takeSeqs, takeSeqsParameters(counts))
    }

    private static func takeSeqsParameters(_ counts: [String: (stream: StreamName, count: Int64)]) -> [String?] {
        let names = counts.keys.sorted()
        return [PostgresArray.texts(names), PostgresArray.integers(names.map { counts[$0]!.count })]
    }

    /// The first seq of each stream's new events, from `takeSeqs`'s answer (each stream's new last seq).
    private static func firstSeqs(_ rows: PostgresResult,
                                  _ counts: [String: (stream: StreamName, count: Int64)]) -> [StreamName: Int64] {
        precondition(rows.rowCount == counts.count, "one counter per stream")
        var first: [StreamName: Int64] = [:]
        for row in 0..<rows.rowCount {
            guard let entry = counts[rows.string(row, 0)] else { preconditionFailure("a counter the batch asked for") }
            first[entry.stream] = rows.int64(row, 1) - entry.count + 1
            precondition(first[entry.stream]! >= 1, "seqs start at 1")
        }
        return first
    }

    private static func parameters(_ applied: [(operation: LedgerOperation, transaction: AppliedTransaction)],
                                   _ ids: [TransactionID], _ events: [[LedgerEvent]],
                                   _ balances: [(id: AccountID, balance: Money)], _ released: [UserKey],
                                   _ at: Timestamp) -> [String?] {
        let commands = applied.map(\.transaction.command)
        let postings = zip(applied, ids).flatMap { pair in pair.0.transaction.postings.map { (pair.1, $0) } }
        let flat = events.flatMap { $0 }
        return [
            String(at.milliseconds),
            PostgresArray.integers(ids.map(\.rawValue)),
            PostgresArray.texts(commands.map(\.kind.rawValue)),
            PostgresArray.integers(applied.map(\.operation.user.rawValue)),
            PostgresArray.integers(commands.map(\.amount.cents)),
            PostgresArray.integers(commands.map(\.debited.rawValue)),
            PostgresArray.integers(commands.map(\.credited.rawValue)),
            PostgresArray.texts(applied.map(\.operation.note)),
            PostgresArray.texts(applied.map(\.operation.idempotencyKey)),
            PostgresArray.integers(postings.map(\.0.rawValue)),
            PostgresArray.integers(postings.map(\.1.account.rawValue)),
            PostgresArray.integers(postings.map(\.1.amount.cents)),
            PostgresArray.integers(postings.map(\.1.balanceAfter.cents)),
            PostgresArray.texts(flat.map(\.stream.description)),
            PostgresArray.integers(flat.map(\.seq)),
            PostgresArray.texts(flat.map(\.kind)),
            PostgresArray.texts(flat.map(\.data)),
            PostgresArray.integers(balances.map(\.id.rawValue)),
            PostgresArray.integers(balances.map(\.balance.cents)),
            PostgresArray.integers(released.map(\.user.rawValue)),
            PostgresArray.texts(released.map(\.key)),
        ]
    }
}
