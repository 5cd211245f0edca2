/// The statements of one ledger batch (`LedgerBatch`), prepared once per server session. Every list goes in as
/// one array parameter and comes out of `unnest`, so a batch costs the same number of statements (and, sent as
/// pipelines, round trips) whatever its size. Locks are taken in one global order: idempotency keys by (user, key), then accounts by id, then
/// stream counters by name; a transaction that holds a later kind never waits for an earlier kind, so two hubs
/// cannot deadlock.
enum LedgerSQL {
    /// Claims the batch's keys, in (user, key) order. A key another hub claimed and has not committed yet makes
    /// this wait for that COMMIT; a key already committed is not returned (its transaction is read instead).
    static let claimKeys = PostgresStatement(name: "ledger_claim_keys", sql: """
        INSERT INTO idempotency_keys(user_id, key, created_at)
        SELECT user_id, key, $3 FROM unnest($1::bigint[], $2::text[]) AS k(user_id, key) ORDER BY user_id, key
        ON CONFLICT DO NOTHING RETURNING user_id, key
        """)

    /// Deletes up to `$2` claims made before `$1` (ms), skipping rows another session holds (a second hub's
    /// janitor pruning at the same time); returns how many. An uncommitted claim is invisible here, so a batch
    /// in flight never loses its own (`IdempotencyClaims`).
    static let pruneClaims = PostgresStatement(name: "ledger_prune_claims", sql: """
        WITH pruned AS (
            DELETE FROM idempotency_keys k USING (
                SELECT user_id, key FROM idempotency_keys WHERE created_at < $1::bigint LIMIT $2::integer
                FOR UPDATE SKIP LOCKED) old
            WHERE k.user_id = old.user_id AND k.key = old.key
            RETURNING 1)
        SELECT count(*) FROM pruned
        """)

    /// The committed transactions of the batch's keys, one row per posting.
    static let storedKeys = PostgresStatement(name: "ledger_stored_keys", sql: """
        SELECT t.user_id, t.idempotency_key, t.id, t.kind, t.amount, t.debit_account, t.credit_account, t.note,
               t.created_at, p.account_id, p.balance_after
        FROM transactions t JOIN postings p ON p.txn_id = t.id
        WHERE (t.user_id, t.idempotency_key) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
        """)

    /// Locks every account the batch names, in id order (the lock is taken above the sort). An id that is not
    /// here is an unknown account.
    static let lockAccounts = PostgresStatement(name: "ledger_lock_accounts", sql: """
        SELECT id, owner_id, kind, status, balance, parent_id FROM accounts
        WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE
        """)

    /// Transaction ids for the applied operations (unique and increasing per session; gaps are fine).
    static let nextTransactionIDs = PostgresStatement(name: "ledger_next_transaction_ids", sql: """
        SELECT nextval('transaction_ids') FROM generate_series(1, $1::integer)
        """)

    /// Takes `count` seqs on each stream, locking the counters in name order; returns each stream's new last seq.
    static let takeSeqs = PostgresStatement(name: "ledger_take_seqs", sql: """
        INSERT INTO stream_counters AS c(stream, last_seq)
        SELECT stream, count FROM unnest($1::text[], $2::bigint[]) AS s(stream, count) ORDER BY stream
        ON CONFLICT (stream) DO UPDATE SET last_seq = c.last_seq + EXCLUDED.last_seq
        RETURNING stream, last_seq
        """)

    /// Writes the batch in one statement: transactions, postings, events, new balances, and releases the keys of
    /// operations the rules rejected (a rejected request may be sent again with its key). Returns the counts.
    static let write = PostgresStatement(name: "ledger_write", sql: """
        WITH new_transactions AS (
            INSERT INTO transactions(id, kind, user_id, amount, debit_account, credit_account, note,
                                     idempotency_key, created_at)
            SELECT id, kind, user_id, amount, debit_account, credit_account, note, idempotency_key, $1
            FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                        $8::text[], $9::text[])
                AS t(id, kind, user_id, amount, debit_account, credit_account, note, idempotency_key)
            RETURNING 1),
        new_postings AS (
            INSERT INTO postings(txn_id, account_id, amount, balance_after, created_at)
            SELECT txn_id, account_id, amount, balance_after, $1
            FROM unnest($10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])
                AS p(txn_id, account_id, amount, balance_after)
            RETURNING 1),
        new_events AS (
            INSERT INTO events(stream, seq, kind, data, created_at)
            SELECT stream, seq, kind, data, $1
            FROM unnest($14::text[], $15::bigint[], $16::text[], $17::text[]) AS e(stream, seq, kind, data)
            RETURNING 1),
        balances AS (
            UPDATE accounts a SET balance = b.balance
            FROM unnest($18::bigint[], $19::bigint[]) AS b(id, balance) WHERE a.id = b.id
            RETURNING 1),
        released AS (
            DELETE FROM idempotency_keys k USING unnest($20::bigint[], $21::text[]) AS r(user_id, key)
            WHERE k.user_id = r.user_id AND k.key = r.key
            RETURNING 1)
        SELECT (SELECT count(*) FROM new_transactions), (SELECT count(*) FROM new_postings),
               (SELECT count(*) FROM new_events), (SELECT count(*) FROM balances), (SELECT count(*) FROM released)
        """)

    /// Appends events whose seqs `takeSeqs` gave (the events of `PostgresLedger.transact`); returns the count.
    static let appendEvents = PostgresStatement(name: "ledger_append_events", sql: """
        WITH appended AS (
            INSERT INTO events(stream, seq, kind, data, created_at)
            SELECT stream, seq, kind, data, $1
            FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[]) AS e(stream, seq, kind, data)
            RETURNING 1)
        SELECT count(*) FROM appended
        """)

    /// The accounts an operation names, read without locking them (`PostgresLedger.check`).
    static let readAccounts = PostgresStatement(name: "ledger_read_accounts", sql: """
        SELECT id, owner_id, kind, status, balance, parent_id FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id
        """)

    /// Locks the accounts named and every goal account of one owner, in id order (`LedgerTransactionContext`).
    static let lockAccountsAndGoals = PostgresStatement(name: "ledger_lock_accounts_goals", sql: """
        SELECT id, owner_id, kind, status, balance, parent_id FROM accounts
        WHERE id = ANY($1::bigint[]) OR (kind = 'goal' AND owner_id = $2::bigint) ORDER BY id FOR UPDATE
        """)
}
