/// The PostgreSQL ledger's schema, as numbered migrations applied in order (`migrate`).
///
/// It mirrors the ledger part of BankStore's SQLite schema (`Schema.swift`): money is `bigint` cents, times
/// `bigint` milliseconds since the Unix epoch. Differences, each for several hubs on one database:
/// - transaction ids come from a sequence (`transaction_ids`): ids are unique and increasing per hub, not
///   gapless (a rejected or rolled-back batch leaves a gap); only event seqs must be gapless;
/// - `idempotency_keys` is where a hub claims a key before it locks accounts: a second hub inserting the
///   same key waits for the first one's COMMIT and then sees it (`PostgresLedger` explains the lock order);
/// - events are rows for every stream, with their seq from `stream_counters` (one row per stream, locked by
///   the upsert that takes the next seqs), instead of being derived from postings;
/// - the users table is not here yet: `owner_id` and `user_id` are plain numbers until it is.
///
/// Postings, transactions and events are append-only: a trigger refuses UPDATE, DELETE and TRUNCATE.
public enum PostgresSchema {
    public static let migrations: [(version: Int, sql: String)] = [
        (1, """
        CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
        END $$;
        CREATE TABLE accounts(
            id bigint PRIMARY KEY,
            owner_id bigint,
            kind text NOT NULL CHECK (kind IN ('customer', 'cash', 'goal')),
            name text NOT NULL,
            currency text NOT NULL DEFAULT 'USD',
            status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'locked', 'closed')),
            balance bigint NOT NULL DEFAULT 0,
            created_at bigint NOT NULL,
            parent_id bigint REFERENCES accounts(id),
            CHECK (kind = 'cash' OR owner_id IS NOT NULL),
            CHECK (kind = 'cash' OR balance >= 0),
            CHECK ((kind = 'goal') = (parent_id IS NOT NULL))
        );
        CREATE INDEX accounts_owner ON accounts(owner_id);
        CREATE SEQUENCE account_ids START 1001;
        CREATE TABLE transactions(
            id bigint PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer', 'goal_fund', 'goal_withdraw')),
            user_id bigint NOT NULL,
            amount bigint NOT NULL CHECK (amount > 0),
            debit_account bigint NOT NULL REFERENCES accounts(id),
            credit_account bigint NOT NULL REFERENCES accounts(id),
            note text,
            idempotency_key text,
            created_at bigint NOT NULL,
            UNIQUE (user_id, idempotency_key),
            CHECK (debit_account <> credit_account)
        );
        CREATE INDEX transactions_user ON transactions(user_id, id);
        CREATE SEQUENCE transaction_ids;
        CREATE TABLE postings(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            txn_id bigint NOT NULL REFERENCES transactions(id),
            account_id bigint NOT NULL REFERENCES accounts(id),
            amount bigint NOT NULL CHECK (amount <> 0),
            balance_after bigint NOT NULL,
            created_at bigint NOT NULL
        );
        CREATE INDEX postings_account ON postings(account_id, id);
        CREATE INDEX postings_txn ON postings(txn_id);
        CREATE TABLE idempotency_keys(
            user_id bigint NOT NULL,
            key text NOT NULL CHECK (length(key) BETWEEN 1 AND 64),
            created_at bigint NOT NULL,
            PRIMARY KEY (user_id, key)
        );
        CREATE TABLE stream_counters(
            stream text PRIMARY KEY,
            last_seq bigint NOT NULL CHECK (last_seq > 0)
        );
        CREATE TABLE events(
            stream text NOT NULL,
            seq bigint NOT NULL CHECK (seq > 0),
            kind text NOT NULL,
            data text NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (stream, seq)
        );
        CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
            FOR EACH ROW EXECUTE FUNCTION refuse_change();
        CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
            FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
        CREATE TRIGGER transactions_append_only BEFORE UPDATE OR DELETE ON transactions
            FOR EACH ROW EXECUTE FUNCTION refuse_change();
        CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions
            FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
        CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
            FOR EACH ROW EXECUTE FUNCTION refuse_change();
        CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
            FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
        INSERT INTO accounts(id, owner_id, kind, name, created_at) VALUES (1, NULL, 'cash', 'Bank cash', 0);
        """),
    ]

    /// Any constant: the advisory lock that keeps two hubs starting together from migrating at once.
    static let migrationLockKey: Int64 = 0x42_414E_4B48_5542

    /// Brings the database up to the newest version, all pending migrations in one transaction. Safe to run from
    /// several hubs at once: the transaction first takes an advisory lock, so a second hub waits and then finds
    /// everything applied.
    public static func migrate(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute("BEGIN")
        do {
            try connection.query("SELECT pg_advisory_xact_lock($1)", [String(migrationLockKey)])
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations(version integer PRIMARY KEY, applied_at bigint NOT NULL)
                """)
            let rows = try connection.query("SELECT version FROM schema_migrations")
            let applied = Set((0..<rows.rowCount).map { rows.int64($0, 0) })
            for migration in migrations where !applied.contains(Int64(migration.version)) {
                try connection.execute(migration.sql)
                try connection.query("""
                    INSERT INTO schema_migrations(version, applied_at)
                    VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                    """, [String(migration.version)])
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The newest version `migrate` brings a database to.
    public static var latestVersion: Int { migrations.map(\.version).max() ?? 0 }
}
