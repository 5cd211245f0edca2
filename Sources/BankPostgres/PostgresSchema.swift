/// The PostgreSQL ledger's schema, as numbered migrations applied in order (`migrate`).
///
/// It mirrors the ledger part of BankStore's SQLite schema (`Schema.swift`): money is `bigint` cents, times
/// `bigint` milliseconds since the Unix epoch. Differences, each for several hubs on one database:
/// - transaction ids come from a sequence (`transaction_ids`): ids are unique and increasing per hub, not
///   gapless (a rejected or rolled-back batch leaves a gap); only event seqs must be gapless;
/// - `idempotency_keys` is where a hub claims a key before it locks accounts: a second hub inserting the
///   same key waits for the first one's COMMIT and then sees it (`PostgresLedger` explains the lock order);
///   a used key's record stays its transaction, so old claims may be deleted (`pruneKeyClaims`);
/// - events are rows for every stream, with their seq from `stream_counters` (one row per stream, locked by
///   the upsert that takes the next seqs), instead of being derived from postings;
/// - migration 2 adds the rest of the SQLite schema (users and everything else the records keep), so the
///   records (`BankStorage`) run here through `PostgresSQLConnection`; `owner_id` and `user_id` then
///   reference users.
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
        // Everything else the SQLite schema (BankStore `Schema`, migrations 1–8) holds, so both hubs' records
        // live in one database: users (with every column SQLite added later), sessions, security and outbox
        // tables, requests, the audit log, standing orders, statements, goals, payees, the receipt cursor, the
        // `seq` column of derived events on postings, SQLite's indexes and CHECKs, and the foreign keys to
        // users migration 1 left out. Ids the database chooses (rows inserted with RETURNING id) are identity
        // columns; ids the hub chooses are plain keys. 0/1 flags stay bigint: the records bind integers.
        (2, """
        CREATE TABLE users(
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            username text NOT NULL UNIQUE,
            password_hash text NOT NULL,
            role text NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'employee', 'admin')),
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'locked')),
            email text,
            phone text,
            full_name text,
            created_at bigint NOT NULL,
            locked_until bigint,
            lock_reason text,
            totp_secret bytea,
            totp_enabled bigint NOT NULL DEFAULT 0,
            totp_last_step bigint
        );
        ALTER TABLE accounts ADD FOREIGN KEY (owner_id) REFERENCES users(id);
        ALTER TABLE transactions ADD FOREIGN KEY (user_id) REFERENCES users(id);
        CREATE INDEX accounts_parent ON accounts(parent_id) WHERE parent_id IS NOT NULL;
        CREATE INDEX transactions_time ON transactions(created_at);
        ALTER TABLE postings ADD COLUMN seq bigint CHECK (seq > 0);
        CREATE TABLE sessions(
            token_hash bytea PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users(id),
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            revoked_at bigint
        );
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE INDEX sessions_expiry ON sessions(expires_at);
        CREATE TABLE login_attempts(
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            user_id bigint REFERENCES users(id),
            username text NOT NULL,
            ip text NOT NULL,
            user_agent text,
            outcome text NOT NULL,
            created_at bigint NOT NULL
        );
        CREATE INDEX login_attempts_user ON login_attempts(user_id, created_at);
        CREATE INDEX login_attempts_ip ON login_attempts(ip, created_at);
        CREATE INDEX login_attempts_time ON login_attempts(created_at);
        CREATE INDEX login_attempts_failures ON login_attempts(user_id, id) WHERE outcome <> 'success';
        CREATE TABLE otp_challenges(
            id text PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users(id),
            purpose text NOT NULL CHECK (purpose IN ('transfer', 'withdraw', 'password_reset', 'profile')),
            payload text NOT NULL,
            code_hash bytea NOT NULL,
            attempts bigint NOT NULL DEFAULT 0,
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'used', 'dead')),
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL
        );
        CREATE INDEX otp_challenges_time ON otp_challenges(created_at);
        CREATE INDEX otp_challenges_user ON otp_challenges(user_id, purpose, status);
        CREATE TABLE outbox(
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            channel text NOT NULL CHECK (channel IN ('sms', 'email')),
            recipient text NOT NULL,
            subject text NOT NULL,
            body text NOT NULL,
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
            attempts bigint NOT NULL DEFAULT 0,
            next_attempt_at bigint NOT NULL,
            last_error text,
            created_at bigint NOT NULL,
            sent_at bigint
        );
        CREATE INDEX outbox_pending ON outbox(status, next_attempt_at);
        CREATE TABLE threats(
            id bigint PRIMARY KEY,
            kind text NOT NULL,
            severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
            user_id bigint REFERENCES users(id),
            ip text,
            detail text NOT NULL,
            created_at bigint NOT NULL,
            acked_by bigint REFERENCES users(id),
            acked_at bigint
        );
        CREATE TABLE service_requests(
            id bigint PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users(id),
            kind text NOT NULL CHECK (kind IN ('password_reset', 'kyc_update', 'account_closure', 'limit_increase')),
            note text NOT NULL,
            account_id bigint REFERENCES accounts(id),
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
            created_at bigint NOT NULL,
            resolved_at bigint,
            resolved_by bigint REFERENCES users(id),
            reason text
        );
        CREATE INDEX service_requests_user ON service_requests(user_id, id);
        CREATE TABLE audit_log(
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            actor_id bigint NOT NULL REFERENCES users(id),
            action text NOT NULL,
            target text NOT NULL,
            detail text,
            created_at bigint NOT NULL
        );
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION refuse_change();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
        CREATE TABLE standing_orders(
            id bigint PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users(id),
            from_account bigint NOT NULL REFERENCES accounts(id),
            to_account bigint NOT NULL REFERENCES accounts(id),
            amount bigint NOT NULL CHECK (amount > 0),
            every text NOT NULL CHECK (every IN ('day', 'week', 'month')),
            start_at bigint NOT NULL,
            payments_max bigint CHECK (payments_max IS NULL OR payments_max > 0),
            note text,
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'completed')),
            next_index bigint NOT NULL DEFAULT 0,
            next_due_at bigint,
            paid bigint NOT NULL DEFAULT 0 CHECK (paid >= 0),
            failed bigint NOT NULL DEFAULT 0 CHECK (failed >= 0),
            created_at bigint NOT NULL,
            ended_at bigint,
            CHECK (from_account <> to_account),
            CHECK (paid + failed = next_index),
            CHECK (payments_max IS NULL OR next_index <= payments_max),
            CHECK ((status = 'active') = (next_due_at IS NOT NULL))
        );
        CREATE INDEX standing_orders_user ON standing_orders(user_id, id);
        CREATE TABLE standing_order_payments(
            order_id bigint NOT NULL REFERENCES standing_orders(id),
            period bigint NOT NULL CHECK (period >= 0),
            due_at bigint NOT NULL,
            txn_id bigint REFERENCES transactions(id),
            reason text,
            created_at bigint NOT NULL,
            PRIMARY KEY (order_id, period),
            CHECK ((txn_id IS NULL) <> (reason IS NULL))
        );
        CREATE TRIGGER standing_order_payments_append_only BEFORE UPDATE OR DELETE ON standing_order_payments
            FOR EACH ROW EXECUTE FUNCTION refuse_change();
        CREATE TRIGGER standing_order_payments_no_truncate BEFORE TRUNCATE ON standing_order_payments
            FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
        CREATE TABLE statement_mailings(
            user_id bigint NOT NULL REFERENCES users(id),
            month text NOT NULL CHECK (length(month) = 7),
            kind text NOT NULL CHECK (kind IN ('statement', 'admin_report')),
            outbox_id bigint NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (user_id, month)
        );
        CREATE TABLE goals(
            account_id bigint PRIMARY KEY REFERENCES accounts(id),
            target bigint NOT NULL CHECK (target > 0),
            target_date text CHECK (target_date IS NULL OR length(target_date) = 10)
        );
        CREATE TABLE payees(
            id bigint PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users(id),
            account_id bigint NOT NULL REFERENCES accounts(id),
            nickname text NOT NULL,
            created_at bigint NOT NULL,
            UNIQUE (user_id, account_id)
        );
        CREATE TABLE receipt_cursor(
            id bigint PRIMARY KEY CHECK (id = 1),
            last_transaction_id bigint NOT NULL CHECK (last_transaction_id >= 0)
        );
        INSERT INTO receipt_cursor(id, last_transaction_id) SELECT 1, COALESCE(MAX(id), 0) FROM transactions;
        """),
        // State the hubs of one database share (issue 14; SQLite's migration 9 has the same tables):
        // - `id_counters`: ids reserved before the commit that names them in an event (`IdentifierRecords`);
        // - standing orders take their id from an identity column (`INSERT … RETURNING id`), starting above
        //   the ids a hub chose itself until now;
        // - `session_revocations`: every revocation, written with the change, polled by the other hubs;
        // - `code_failures` and `users.failures_reset_at`: the counts toward the code limit and the lockout.
        (3, """
        CREATE TABLE id_counters(
            name text PRIMARY KEY,
            last_id bigint NOT NULL CHECK (last_id >= 0)
        );
        INSERT INTO id_counters(name, last_id) SELECT 'service_requests', COALESCE(MAX(id), 0) FROM service_requests;
        INSERT INTO id_counters(name, last_id) SELECT 'threats', COALESCE(MAX(id), 0) FROM threats;
        INSERT INTO id_counters(name, last_id) SELECT 'payees', COALESCE(MAX(id), 0) FROM payees;
        ALTER TABLE standing_orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
        SELECT setval(pg_get_serial_sequence('standing_orders', 'id'), COALESCE(MAX(id), 0) + 1, false)
            FROM standing_orders;
        CREATE TABLE session_revocations(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users(id),
            token_hash bytea,
            reason text NOT NULL CHECK (reason IN ('logout', 'password_changed', 'locked', 'role_changed')),
            created_at bigint NOT NULL
        );
        CREATE INDEX session_revocations_time ON session_revocations(created_at);
        CREATE TABLE code_failures(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users(id),
            created_at bigint NOT NULL
        );
        CREATE INDEX code_failures_user ON code_failures(user_id, created_at);
        ALTER TABLE users ADD COLUMN failures_reset_at bigint;
        """),
        // Work any hub of one database may do, claimed per row with a lease (`PostgresWorkClaims`): an outbox
        // message, the receipt cursor (one hub reads and sends the next receipts) and a standing order's due
        // period. A claim names its hub (`claimed_by`) and ends at `claimed_until` (ms): a hub that dies holding
        // one leaves it to the others once that time passes. SQLite (one hub) has no such columns.
        (4, """
        ALTER TABLE outbox ADD COLUMN claimed_by text, ADD COLUMN claimed_until bigint;
        CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE status = 'pending';
        ALTER TABLE receipt_cursor ADD COLUMN claimed_by text, ADD COLUMN claimed_until bigint;
        ALTER TABLE standing_orders ADD COLUMN claimed_by text, ADD COLUMN claimed_until bigint;
        CREATE INDEX standing_orders_due ON standing_orders(next_due_at, id) WHERE status = 'active';
        """),
        // Key claims are pruned by age (`pruneClaims`, a batch per statement): without this index each
        // statement scans every claim of the retention window.
        (5, """
        CREATE INDEX idempotency_keys_age ON idempotency_keys(created_at);
        """),
        // A service request's resolution is claimed (`WorkClaims.claimRequest`, a lease as in 4) before its
        // effects run (closing an account, sending a reset code), so of two hubs resolving it at once only the
        // claimant runs them. SQLite (one hub) has no such columns: its per-hub gate suffices.
        (6, """
        ALTER TABLE service_requests ADD COLUMN claimed_by text, ADD COLUMN claimed_until bigint;
        """),
        // Receipts in commit order (`ReceiptRecords`): each transaction row records the id of the PostgreSQL
        // transaction that wrote it (the top-level one, also from inside a savepoint), and the receipt cursor
        // becomes a position (commit order, transaction id). Existing rows get 0 (the default is set after the
        // column is added, so they are not rewritten with this migration's id); the cursor starts at (0, its
        // transaction), so rows it had not reached yet are still read, in id order. SQLite's migration 10 adds the
        // same columns with 0 everywhere.
        (7, """
        ALTER TABLE transactions ADD COLUMN commit_order bigint NOT NULL DEFAULT 0;
        ALTER TABLE transactions ALTER COLUMN commit_order SET DEFAULT (pg_current_xact_id()::text::bigint);
        CREATE INDEX transactions_commit_order ON transactions(commit_order, id);
        ALTER TABLE receipt_cursor ADD COLUMN last_commit_order bigint NOT NULL DEFAULT 0;
        """),
        // Which hubs are alive (`WorkClaims.beat`): each hub renews its row every second until `seen_until` (ms, by
        // the server's clock) a few seconds ahead and deletes it at a clean stop. A claim whose holder has no row
        // here, or one whose time has passed, is free at once, without waiting out its lease (`PostgresWorkClaims`).
        (8, """
        CREATE TABLE hub_heartbeats(holder text PRIMARY KEY, seen_until bigint NOT NULL);
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
            try connection.commit()
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The newest version `migrate` brings a database to.
    public static var latestVersion: Int { migrations.map(\.version).max() ?? 0 }
}
