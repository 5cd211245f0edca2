/// The database schema, as numbered migrations applied in order inside one transaction each.
///
/// Money is INTEGER cents; times are INTEGER milliseconds since the Unix epoch. Postings, transactions and
/// events are append-only: triggers make SQLite itself refuse UPDATE and DELETE on them.
enum Schema {
    static let migrations: [(version: Int, sql: String)] = [
        (1, """
        CREATE TABLE users(
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'employee', 'admin')),
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'locked')),
            email TEXT,
            phone TEXT,
            full_name TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE sessions(
            token_hash BLOB PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            revoked_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE TABLE accounts(
            id INTEGER PRIMARY KEY,
            owner_id INTEGER REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN ('customer', 'cash')),
            name TEXT NOT NULL,
            currency TEXT NOT NULL DEFAULT 'USD',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'locked', 'closed')),
            balance INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            CHECK (kind = 'cash' OR owner_id IS NOT NULL),
            CHECK (kind = 'cash' OR balance >= 0)
        );
        CREATE INDEX accounts_owner ON accounts(owner_id);
        CREATE TABLE transactions(
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer')),
            user_id INTEGER NOT NULL REFERENCES users(id),
            amount INTEGER NOT NULL CHECK (amount > 0),
            debit_account INTEGER NOT NULL REFERENCES accounts(id),
            credit_account INTEGER NOT NULL REFERENCES accounts(id),
            note TEXT,
            idempotency_key TEXT,
            created_at INTEGER NOT NULL,
            UNIQUE (user_id, idempotency_key),
            CHECK (debit_account <> credit_account)
        );
        CREATE TABLE postings(
            id INTEGER PRIMARY KEY,
            txn_id INTEGER NOT NULL REFERENCES transactions(id),
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            amount INTEGER NOT NULL CHECK (amount <> 0),
            balance_after INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX postings_account ON postings(account_id, id);
        CREATE INDEX postings_txn ON postings(txn_id);
        CREATE TABLE events(
            stream TEXT NOT NULL,
            seq INTEGER NOT NULL CHECK (seq > 0),
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (stream, seq)
        ) WITHOUT ROWID;
        CREATE TRIGGER postings_are_immutable_update BEFORE UPDATE ON postings
            BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;
        CREATE TRIGGER postings_are_immutable_delete BEFORE DELETE ON postings
            BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;
        CREATE TRIGGER transactions_are_immutable_update BEFORE UPDATE ON transactions
            BEGIN SELECT RAISE(ABORT, 'transactions are immutable'); END;
        CREATE TRIGGER transactions_are_immutable_delete BEFORE DELETE ON transactions
            BEGIN SELECT RAISE(ABORT, 'transactions are immutable'); END;
        CREATE TRIGGER events_are_immutable_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
        CREATE TRIGGER events_are_immutable_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
        INSERT INTO accounts(id, owner_id, kind, name, created_at) VALUES (1, NULL, 'cash', 'Bank cash', 0);
        """),
        (2, """
        ALTER TABLE users ADD COLUMN locked_until INTEGER;
        ALTER TABLE users ADD COLUMN lock_reason TEXT;
        ALTER TABLE users ADD COLUMN totp_secret BLOB;
        ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
        CREATE INDEX transactions_user ON transactions(user_id, id);
        CREATE INDEX transactions_time ON transactions(created_at);
        CREATE TABLE login_attempts(
            id INTEGER PRIMARY KEY,
            user_id INTEGER REFERENCES users(id),
            username TEXT NOT NULL,
            ip TEXT NOT NULL,
            user_agent TEXT,
            outcome TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX login_attempts_user ON login_attempts(user_id, created_at);
        CREATE INDEX login_attempts_ip ON login_attempts(ip, created_at);
        CREATE TABLE otp_challenges(
            id TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            purpose TEXT NOT NULL CHECK (purpose IN ('transfer', 'withdraw', 'password_reset')),
            payload TEXT NOT NULL,
            code_hash BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'used', 'dead')),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE outbox(
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
            recipient TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            sent_at INTEGER
        );
        CREATE INDEX outbox_pending ON outbox(status, next_attempt_at);
        CREATE TABLE threats(
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
            user_id INTEGER REFERENCES users(id),
            ip TEXT,
            detail TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            acked_by INTEGER REFERENCES users(id),
            acked_at INTEGER
        );
        CREATE TABLE service_requests(
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN ('password_reset', 'kyc_update', 'account_closure', 'limit_increase')),
            note TEXT NOT NULL,
            account_id INTEGER REFERENCES accounts(id),
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
            created_at INTEGER NOT NULL,
            resolved_at INTEGER,
            resolved_by INTEGER REFERENCES users(id),
            reason TEXT
        );
        CREATE INDEX service_requests_user ON service_requests(user_id, id);
        CREATE TABLE audit_log(
            id INTEGER PRIMARY KEY,
            actor_id INTEGER NOT NULL REFERENCES users(id),
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE TRIGGER audit_log_is_immutable_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_log_is_immutable_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """),
        // The ledger's events on customer account streams are derived from postings instead of stored as
        // `events` rows: `seq` is the seq of the posting's `balance` event on `account:<account_id>`, and for
        // a transfer's posting the `transfer` event has seq + 1 (DerivedEvents renders both again with
        // LedgerEventData). NULL on the cash account's postings and on every posting written before this
        // migration: the events of those were stored as rows and are still read as they are, merged by seq
        // with the derived ones. Everything else (rejected transfers, otp, request and threat events, a
        // transfer event on the cash account's stream) stays in `events`.
        (3, """
        ALTER TABLE postings ADD COLUMN seq INTEGER CHECK (seq > 0);
        """),
        // Retention (the janitor, docs/security.md "Retention"): indexes for the purges by age, and for each
        // user's failed login attempts, which are kept only up to a number per user. Nothing else changes.
        (4, """
        CREATE INDEX sessions_expiry ON sessions(expires_at);
        CREATE INDEX otp_challenges_time ON otp_challenges(created_at);
        CREATE INDEX login_attempts_time ON login_attempts(created_at);
        CREATE INDEX login_attempts_failures ON login_attempts(user_id, id) WHERE outcome <> 'success';
        """),
        // One-time codes by user (docs/security.md "Identity, codes and sessions"): a new challenge retires the
        // user's pending ones of its purpose, and reset codes are found by user, so both look challenges up by
        // user instead of scanning the table. Numbered 6: the retention branch claims 4 and standing orders 5;
        // versions are applied by number, so a gap is harmless.
        (6, """
        CREATE INDEX otp_challenges_user ON otp_challenges(user_id, purpose, status);
        """),
    ]

    /// Pragmas set on every connection. WAL lets readers run beside the one writer; `synchronous=FULL`
    /// makes each COMMIT durable before it returns, which is what "acknowledged after commit" relies on.
    static let connectionPragmas = """
        PRAGMA foreign_keys = ON;
        PRAGMA synchronous = FULL;
        PRAGMA temp_store = MEMORY;
        PRAGMA cache_size = -65536;
        """

    /// Brings the database at `connection` up to the newest schema version.
    static func migrate(_ connection: SQLiteConnection) throws {
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute(connectionPragmas)
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)
            """)
        let applied = Set(try connection.prepare("SELECT version FROM schema_migrations").query { $0.int64(0) })
        for migration in migrations where !applied.contains(Int64(migration.version)) {
            try connection.transaction {
                try connection.execute(migration.sql)
                try connection.prepare("INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)")
                    .run(migration.version, Clock.nowMilliseconds())
            }
        }
    }
}
